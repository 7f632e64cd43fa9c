"""What every case, baseline and helper of the benchmark shares: the run and its namespaces, the
JSON-line records of figures, the message content, a timed drain by receiver threads; the
servers, transports and settings come from :mod:`bus.testing`, which the tests share."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bus import testing
from bus.settings import BusSettings

#: The repository's root: where worker subprocesses run (``bench`` importable from there).
ROOT = Path(__file__).resolve().parent.parent
#: The servers: ``BUS_TEST_REDIS_URL`` and ``BUS_TEST_AMQP_URL``, as for the tests.
REDIS_URL = testing.redis_url()
AMQP_URL = testing.amqp_url()
TRANSPORTS = testing.TRANSPORTS
#: Poll interval of the memory:// transport; the bus's default, used by the raw baselines too.
MEMORY_POLL = BusSettings().polling_interval
#: Bytes of each benchmark message's content.
PAYLOAD_BYTES = 512

#: One figure as a JSON line (transport, figure, value, unit, n, extras): what the measuring
#: helpers return; :meth:`bench.cases.base.Figure.from_record` types it.
Record = dict[str, Any]

broker_url = testing.broker_url
unreachable = testing.unreachable


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """``variables`` set in this process's environment (so also in the worker subprocesses
    started meanwhile), the previous values back afterwards."""
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def transport_options(transport: str) -> dict[str, Any]:
    """Kombu transport options matching what the bus uses on ``transport``."""
    return {"polling_interval": MEMORY_POLL} if transport == "memory" else {}


def new_namespace(prefix: str = "bench") -> str:
    """A namespace no other run uses (bus's pattern: ``[a-z][a-z0-9_-]{0,31}``)."""
    return testing.new_namespace(prefix)


#: The pair bucket's size on the benchmark's buses (``pair_burst``): more than any run publishes.
#: A case sends thousands of messages from one sender to one channel faster than ``pair_rate``
#: (500/s), which opens the circuit against a flooding agent; the bucket is still kept (its
#: cost is in every figure) but never empties.
PAIR_BURST = 10_000_000


def bus_settings(transport: str, namespace: str, **overrides: Any) -> BusSettings:
    """Settings of a benchmark bus: no default channels (unless overridden), a namespace of its
    own, a pair bucket that never empties (:data:`PAIR_BURST`)."""
    return testing.settings_for(
        transport,
        **{"namespace": namespace, "default_channels": (), "pair_burst": PAIR_BURST, **overrides},
    )


def coalescing(coalesce: bool | None) -> dict[str, bool]:
    """The ``coalesce_deliveries`` override of a benchmark bus: none for ``None`` (the default
    a new user gets)."""
    return {} if coalesce is None else {"coalesce_deliveries": coalesce}


@dataclass
class Run:
    """One benchmark run's parameters, shared by every figure."""

    n: int
    quick: bool
    namespace: str = field(default_factory=new_namespace)

    def ns(self, figure: str) -> str:
        """A sub-namespace for one figure, so figures never see each other's state."""
        return f"{self.namespace}-{figure}"[:32]


def figure(transport: str, name: str, value: float, unit: str, n: int, **extra: Any) -> Record:
    """One figure: a JSON-able dict with transport, figure, value, unit, n (and extras)."""
    rounded = round(value, 3) if abs(value) >= 1 else round(value, 6)
    return {"transport": transport, "figure": name, "value": rounded, "unit": unit, "n": n, **extra}


def percentile(samples: list[float], fraction: float) -> float:
    """The ``fraction`` percentile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def payload() -> str:
    """The content of a benchmark message: :data:`PAYLOAD_BYTES` characters."""
    return "x" * PAYLOAD_BYTES


class Drain:
    """Receivers running in threads while the caller publishes; times first publish to last
    delivery consumed.

    Each receiver is ``fn(expected, deadline) -> received`` and returns once it has ``expected``
    deliveries or the deadline (``time.monotonic()``) passed.
    """

    def __init__(
        self, receivers: list[tuple[Callable[[int, float], int], int]], timeout: float
    ) -> None:
        self._receivers = receivers
        self._timeout = timeout
        self.received: list[int] = [0] * len(receivers)
        self.finished: list[float] = [0.0] * len(receivers)
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self.started = 0.0

    def _run(self, index: int, fn: Callable[[int, float], int], expected: int) -> None:
        try:
            self.received[index] = fn(expected, time.monotonic() + self._timeout)
        except BaseException as exc:
            self.errors.append(exc)
        self.finished[index] = time.perf_counter()

    def __enter__(self) -> Drain:
        for index, (fn, expected) in enumerate(self._receivers):
            thread = threading.Thread(target=self._run, args=(index, fn, expected), daemon=True)
            thread.start()
            self._threads.append(thread)
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for thread in self._threads:
            thread.join(self._timeout + 30)

    @property
    def elapsed(self) -> float:
        """Seconds from :meth:`__enter__` to the last receiver's end."""
        return max(self.finished) - self.started

    def check(self) -> None:
        """Raise if a receiver failed or fell short."""
        if self.errors:
            raise self.errors[0]
        short = [
            (got, want)
            for got, (_fn, want) in zip(self.received, self._receivers, strict=True)
            if got < want
        ]
        if short:
            raise TimeoutError(f"receivers got {short} (received, expected) before the deadline")


def drain_kombu(connection: Any, counter: list[int], expected: int, deadline: float) -> int:
    """Drain ``connection`` until ``counter[0]`` reaches ``expected`` or the deadline passes."""
    while counter[0] < expected and time.monotonic() < deadline:
        try:
            connection.drain_events(timeout=0.5)
        except TimeoutError:  # socket.timeout is TimeoutError
            continue
    return counter[0]


def sweep_redis(namespace: str) -> int:
    """Delete Redis keys of ``namespace`` that :meth:`bus.Bus.destroy` leaves behind on the
    redis transport (agent queue lists and kombu binding sets); returns how many."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    deleted = 0
    try:
        for prefix in ("", "_kombu.binding.", "_kombu.binding_permanent."):
            keys = list(client.scan_iter(match=f"{prefix}{namespace}*", count=1000))
            for start in range(0, len(keys), 500):
                deleted += int(client.delete(*keys[start : start + 500]))
    finally:
        client.close()
    return deleted

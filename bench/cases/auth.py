"""Case ``auth``: the cost of ``BUS_AUTH=required`` (signing, verifying, permission checks, the
publish quota), side by side with auth off, in one run:
``python -m bench --only auth [--transports memory,redis,amqp] [--n 1000]``.

Per transport and mode (``off``, ``required``): ``publish`` (messages/s posted by one bus to a
channel with one member), ``pull`` (messages/s that one agent then drains with ``receive``) and
``hosted`` (deliveries/s handled by a solo worker hosting 2 agents, as ``bus_hosted`` measures
them), each also per CPU second (``*_per_cpu_s``: of this process for publish and pull, of the
worker process for hosted, of this whole process on memory://), which load from other
processes on a shared machine disturbs much less than the rates. With auth required the quota
is on (a rate no run reaches, so every publish pays its token-bucket step) and the worker signs
nothing but verifies every message.

The modes alternate 3 times (quick: once), off, required, off, required, ..., so that load from
other processes on a shared machine falls on both alike; each figure is the median of its runs
(``auth_off_<what>`` and ``auth_required_<what>``, the latter with its ratio to the former),
over ``--n`` messages each (quick: 200).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from bench.cases.base import CaseArgs, Figure, alternating, paired_figures
from bench.common import bus_settings, environment, payload
from bench.harness import solo_worker
from bench.harness.solo_agents import THROUGHPUT_CHANNEL
from bus import Bus
from bus.auth import admin
from bus.auth.keypairs import RootKey
from bus.auth.storage import open_auth_store
from bus.settings import BusSettings
from bus.settings.transports import resolve_store_url

AGENTS = ("agent-1", "agent-2", "listener")
MODES = ("off", "required")
#: What is measured, and its unit.
#: What a case runs on the bus before it measures (``prepare(bus)``).
Prepare = Callable[[Bus], object]

UNITS = {
    "publish": "messages/s",
    "publish_per_cpu_s": "messages/CPU s",
    "pull": "messages/s",
    "pull_per_cpu_s": "messages/CPU s",
    "hosted": "deliveries/s",
    "hosted_per_cpu_s": "deliveries/CPU s",
}


@contextlib.contextmanager
def auth_for(settings: BusSettings, mode: str) -> Iterator[BusSettings]:
    """``settings`` with auth ``mode``; for ``required``, credentials made in a temporary
    directory (the operator ``bench``, and the hosted agents), also exported to the
    environment a worker subprocess inherits."""
    if mode == "off":
        yield settings
        return
    root = RootKey.generate()
    url = resolve_store_url(settings.broker_url, settings.store_url)
    store = open_auth_store(url, settings.namespace)
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        (folder / "agents").mkdir()
        admin.issue_credentials(root, store, "bench", role="operator", path=folder / "bench.json")
        for name in AGENTS:
            admin.issue_credentials(root, store, name, path=folder / "agents" / f"{name}.json")
        variables = {
            "BUS_AUTH": "required",
            "BUS_ROOT_PUBLIC_KEY": root.public_key_b64,
            "BUS_CREDENTIALS": str(folder / "bench.json"),
            "BUS_CREDENTIALS_DIR": str(folder / "agents"),
            "BUS_PUBLISH_RATE": "1000000",
            "BUS_PUBLISH_BURST": "1000000",
        }
        try:
            with environment(variables):
                yield settings.model_copy(
                    update={
                        "auth": "required",
                        "root_public_key": root.public_key_b64,
                        "credentials": variables["BUS_CREDENTIALS"],
                        "credentials_dir": variables["BUS_CREDENTIALS_DIR"],
                        "publish_rate": 1_000_000.0,
                        "publish_burst": 1_000_000,
                    }
                )
        finally:
            store.destroy()
            store.close()


def _children_cpu() -> float:
    """CPU seconds (user + system) used so far by this process's child processes (a worker)."""
    total = 0
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def publish_and_pull(
    transport: str, mode: str, n: int, namespace: str, prepare: Prepare | None = None
) -> dict[str, float]:
    """Messages per second, and per CPU second of this process, published to a channel with
    one member, then drained by it (``prepare(bus)`` first: what another case varies)."""
    settings = bus_settings(transport, namespace, retention_max_messages=n + 10)
    with auth_for(settings, mode) as settings, Bus(settings) as bus:
        bus.create_channel("#bench")
        bus.register_agent("agent-1", channels=["#bench"])
        if prepare is not None:
            prepare(bus)
        text = payload()
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            bus.publish("#bench", text, sender="bench")
        published, published_cpu = time.perf_counter() - start, time.process_time() - cpu
        reader = bus if transport == "memory" else Bus(settings).start()
        try:
            start, cpu, got = time.perf_counter(), time.process_time(), 0
            while got < n and reader.receive("agent-1", timeout=10) is not None:
                got += 1
            pulled, pulled_cpu = time.perf_counter() - start, time.process_time() - cpu
        finally:
            if reader is not bus:
                reader.stop()
        if got != n:
            raise RuntimeError(f"pull with auth {mode}: {got} of {n} received")
        bus.destroy()
    return {
        "publish": n / published,
        "publish_per_cpu_s": n / published_cpu,
        "pull": n / pulled,
        "pull_per_cpu_s": n / pulled_cpu,
    }


def hosted_deliveries(
    transport: str, mode: str, n: int, namespace: str, prepare: Prepare | None = None
) -> dict[str, float]:
    """Deliveries per second handled by a solo worker hosting 2 agents (as ``bus_hosted``), and
    per CPU second of the worker process (memory://: of this process, publisher included);
    ``prepare(bus)`` first."""
    settings = solo_worker.settings_for(
        transport, namespace, keep=max(1000, 2 * (n + solo_worker.WARM))
    )
    progress = solo_worker.Progress(transport, f"{namespace}:hosted")
    total = 2 * (solo_worker.WARM + n)
    progress.expect(total)
    cpu = time.process_time if transport == "memory" else _children_cpu
    try:
        with (
            auth_for(settings, mode) as settings,
            solo_worker.running(transport, settings, progress.key, total) as bus,
        ):
            if prepare is not None:
                prepare(bus)
            text = payload()
            for _ in range(solo_worker.WARM):
                bus.publish(THROUGHPUT_CHANNEL, text, sender="bench")
            start, used = time.time(), cpu()
            for _ in range(n):
                bus.publish(THROUGHPUT_CHANNEL, text, sender="bench")
            done_at = solo_worker.wait_for(progress.done_at, 120 + n / 20, f"{total} deliveries")
            used = cpu() - used
    finally:
        progress.close()
    return {"hosted": 2 * n / (done_at - start), "hosted_per_cpu_s": 2 * n / used}


#: Messages per auth-cost run unless ``--n`` asks for fewer (docs/security.md's measurement).
AUTH_MESSAGES = 1000


class AuthCase:
    """The figures with auth off and required, alternating; see the module doc."""

    name = "auth"
    group = "auth"

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        """Each mode ``repeat`` times, alternating; the medians, required against off."""
        # Six alternating runs per transport: the documented measurement's 1,000 messages each
        # keep a full run's auth case to minutes (an explicit --n smaller than that wins).
        n, repeat, samples = mode_samples(transport, args, "auth", MODES, auth=lambda mode: mode)
        return paired_figures(
            samples, UNITS, ("off", "required"), "auth", transport, n=n, repeat=repeat
        )


def mode_samples(
    transport: str,
    args: CaseArgs,
    case: str,
    modes: tuple[str, str],
    *,
    within: Callable[[str], AbstractContextManager[object]] = lambda _: nullcontext(),
    auth: Callable[[str], str] = lambda _: "off",
) -> tuple[int, int, dict[tuple[str, str], list[float]]]:
    """Publish, pull and hosted figures of each mode ``repeat`` times, the modes alternating
    (each run inside ``within(mode)``, with auth ``auth(mode)``): ``(n, repeat, samples)``
    for :func:`~bench.cases.base.paired_figures`. What the auth, otel and guards cases share."""
    n = args.messages or min(args.run.n, AUTH_MESSAGES)
    repeat = 1 if args.quick else 3

    def measure(mode: str, attempt: int) -> dict[str, float]:
        tag = f"{case}{modes.index(mode)}{attempt}"
        with within(mode):
            values = publish_and_pull(transport, auth(mode), n, args.run.ns(f"{tag}p"))
            return values | hosted_deliveries(transport, auth(mode), n, args.run.ns(f"{tag}h"))

    return n, repeat, alternating(transport, case, modes, repeat, measure)

"""Worker-hosted figures: agents whose handlers run in a real Celery worker.

- ``bus_hosted``: publish ``n`` to ``#bench``, whose 2 agents are hosted by a worker (pool solo,
  concurrency 1, like the raw Celery baseline); deliveries handled per second, first publish to
  last handler done. The report sets it against ``raw_celery``.
- ``bus_hosted_latency``: publish one message at a time to ``#benchlat``; from the start of the
  publish call to the start of the handler; p50, p90, p99.

memory:// runs the worker in a thread of this process (:class:`bus.worker.EmbeddedWorker`);
redis and amqp run ``celery -A bus worker`` as a subprocess hosting :mod:`bench.hosted_agents`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import redis

from bench import hosted_agents
from bench.common import REDIS_URL, Figure, Run, bus_settings, figure, payload, percentile
from bench.raw_celery import ROOT
from bus import Bus
from bus.broker.celery_app import create_app
from bus.settings import BusSettings
from bus.testing import environment_for, worker_command
from bus.worker import EmbeddedWorker, install, load_agents

WARM = 20
CHANNELS = (hosted_agents.THROUGHPUT_CHANNEL, hosted_agents.LATENCY_CHANNEL)


def _settings(
    transport: str, namespace: str, keep: int = 1000, coalesce: bool = False
) -> BusSettings:
    # Retention must hold the whole burst: a consumer further behind than retention skips what
    # was trimmed (by design), and the publisher here runs ahead of the worker.
    return bus_settings(
        transport,
        namespace,
        retention_max_messages=keep,
        default_channels=CHANNELS,
        agent_modules=("bench.hosted_agents",),
        worker_events=False,  # like the raw Celery baseline (Celery's default)
        coalesce_deliveries=coalesce,
    )


class _Progress:
    """Where the hosted agents report: Redis for a worker subprocess, memory in-process."""

    def __init__(self, transport: str, key: str) -> None:
        self.remote = transport != "memory"
        self.key = key
        self.client = redis.Redis.from_url(REDIS_URL) if self.remote else None

    def expect(self, count: int) -> None:
        if self.client is not None:
            self.client.delete(f"{self.key}:count", f"{self.key}:done", f"{self.key}:starts")
        else:
            hosted_agents.LOCAL.reset(count)

    def done_at(self) -> float | None:
        if self.client is None:
            return hosted_agents.LOCAL.done_at or None
        value = self.client.get(f"{self.key}:done")
        return None if value is None else float(value)

    def started(self, seq: int) -> float | None:
        if self.client is None:
            return hosted_agents.LOCAL.starts.get(seq)
        value = self.client.hget(f"{self.key}:starts", str(seq))
        return None if value is None else float(value)

    def close(self) -> None:
        if self.client is not None:
            self.client.delete(f"{self.key}:count", f"{self.key}:done", f"{self.key}:starts")
            self.client.close()


@contextmanager
def _hosted(transport: str, settings: BusSettings, key: str, expect: int) -> Iterator[Bus]:
    """A started bus whose agents a worker hosts (in a thread, or a subprocess)."""
    if transport == "memory":
        app = create_app(settings)
        install(app, settings, load_agents(settings.agent_modules))
        with Bus(settings, app=app) as bus, EmbeddedWorker(app, pool="solo", concurrency=1):
            yield bus
            bus.destroy()
        return
    # The settings name the agent modules, channels and retention; environment_for passes
    # every setting that differs from its default on.
    env = environment_for(
        settings,
        pythonpath=[ROOT],
        extra={"BENCH_REDIS_URL": REDIS_URL, "BENCH_KEY": key, "BENCH_EXPECT": str(expect)},
    )
    command = worker_command(
        loglevel=os.environ.get("BENCH_CELERY_LOGLEVEL", "WARNING"),
        hostname=f"{settings.namespace}@%h",
        without=("heartbeat", "mingle", "gossip"),
    )
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally)
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with Bus(settings) as bus:
            _wait(lambda: _registered(bus), 60, "the worker to register its agents", worker, log)
            yield bus
            bus.destroy()
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)
        log.close()


def _registered(bus: Bus) -> bool | None:
    """Whether the worker registered its agents and subscribed them (the last step)."""
    if not {"agent-1", "agent-2", "listener"} <= set(bus.agents()):
        return None
    subscribed = hosted_agents.LATENCY_CHANNEL in bus.subscriptions("listener") and all(
        hosted_agents.THROUGHPUT_CHANNEL in bus.subscriptions(name)
        for name in ("agent-1", "agent-2")
    )
    return subscribed or None


def _wait(
    check: Callable[[], Any], timeout: float, what: str, worker: Any = None, log: Any = None
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        if worker is not None and worker.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"bus worker exited: {log.read().decode(errors='replace')[-800:]}")
        time.sleep(0.001)
    raise TimeoutError(f"bus hosted: {what} did not happen within {timeout:.0f} s")


def throughput(transport: str, run: Run, coalesce: bool = False) -> list[Figure]:
    """Deliveries handled per second by a worker hosting 2 agents of one channel
    (``coalesce``: the figure ``bus_hosted_coalesced``, one delivery per burst)."""
    name = "bus_hosted_coalesced" if coalesce else "bus_hosted"
    n, namespace = run.n, run.ns("hostedc" if coalesce else "hosted")
    settings = _settings(transport, namespace, keep=max(1000, 2 * (n + WARM)), coalesce=coalesce)
    progress = _Progress(transport, f"{namespace}:hosted")
    total = 2 * (WARM + n)
    progress.expect(total)
    try:
        with _hosted(transport, settings, progress.key, total) as bus:
            text = payload()
            for _ in range(WARM):
                bus.publish(hosted_agents.THROUGHPUT_CHANNEL, text, sender="bench")
            start = time.time()
            for _ in range(n):
                bus.publish(hosted_agents.THROUGHPUT_CHANNEL, text, sender="bench")
            sent = time.time() - start
            done_at = _wait(progress.done_at, 120 + n / 20, f"{total} handled deliveries")
    finally:
        progress.close()
    deliveries = 2 * n
    return [
        figure(
            transport,
            name,
            deliveries / (done_at - start),
            "deliveries/s",
            n,
            deliveries=deliveries,
            seconds=round(done_at - start, 4),
            send_seconds=round(sent, 4),
            worker="pool solo, concurrency 1",
        )
    ]


def latency(transport: str, run: Run, samples: int = 300) -> list[Figure]:
    """Publish-to-handler-start latency, one message at a time."""
    namespace = run.ns("hostlat")
    settings = _settings(transport, namespace)
    progress = _Progress(transport, f"{namespace}:hostlat")
    progress.expect(-1)
    waits: list[float] = []
    try:
        with _hosted(transport, settings, progress.key, -1) as bus:
            text = payload()
            for index in range(WARM + samples):
                start = time.time()
                seq = bus.publish(hosted_agents.LATENCY_CHANNEL, text, sender="bench").seq
                assert seq is not None
                began = _wait(partial(progress.started, seq), 30, f"handler of #{seq}")
                if index >= WARM:
                    waits.append((began - start) * 1000)
    finally:
        progress.close()
    return [
        figure(
            transport,
            "bus_hosted_latency",
            percentile(waits, 0.5),
            "ms",
            samples,
            p90=round(percentile(waits, 0.9), 3),
            p99=round(percentile(waits, 0.99), 3),
        )
    ]

"""A bus worker like the raw Celery baseline's (pool solo, concurrency 1, no events) hosting
the agents of :mod:`bench.harness.solo_agents`, and where those report what they handled.

The cases ``throughput`` (``bus_hosted``), ``latency`` (``bus_hosted_latency``) and ``auth``
(``hosted``) measure with it. memory:// runs the worker in a thread of this process
(:class:`bus.worker.EmbeddedWorker`); redis and amqp run ``celery -A bus worker`` as a
subprocess.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from bench.common import REDIS_URL, ROOT, bus_settings, coalescing
from bench.harness import solo_agents
from bus import Bus
from bus.broker.celery_app import create_app
from bus.settings import BusSettings
from bus.testing import environment_for, worker_command
from bus.worker import EmbeddedWorker, install, load_agents

WARM = 20
CHANNELS = (solo_agents.THROUGHPUT_CHANNEL, solo_agents.LATENCY_CHANNEL)


def settings_for(
    transport: str, namespace: str, keep: int = 1000, coalesce: bool | None = None
) -> BusSettings:
    """Settings of a bus whose agents a solo worker hosts (retention ``keep``; ``coalesce``:
    ``BUS_COALESCE_DELIVERIES`` if not None, else the default)."""
    # Retention must hold the whole burst: a consumer further behind than retention skips what
    # was trimmed (by design), and the publisher here runs ahead of the worker.
    return bus_settings(
        transport,
        namespace,
        retention_max_messages=keep,
        default_channels=CHANNELS,
        agent_modules=(solo_agents.__name__,),
        worker_events=False,  # like the raw Celery baseline (Celery's default)
        **coalescing(coalesce),
    )


class Progress:
    """Where the hosted agents report: Redis for a worker subprocess, memory in-process."""

    def __init__(self, transport: str, key: str) -> None:
        self.remote = transport != "memory"
        self.key = key
        self.client = redis.Redis.from_url(REDIS_URL) if self.remote else None

    def expect(self, count: int) -> None:
        if self.client is not None:
            self.client.delete(f"{self.key}:count", f"{self.key}:done", f"{self.key}:starts")
        else:
            solo_agents.LOCAL.reset(count)

    def done_at(self) -> float | None:
        if self.client is None:
            return solo_agents.LOCAL.done_at or None
        value = self.client.get(f"{self.key}:done")
        return None if value is None else float(value)

    def started(self, seq: int) -> float | None:
        if self.client is None:
            return solo_agents.LOCAL.starts.get(seq)
        value = self.client.hget(f"{self.key}:starts", str(seq))
        return None if value is None else float(value)

    def close(self) -> None:
        if self.client is not None:
            self.client.delete(f"{self.key}:count", f"{self.key}:done", f"{self.key}:starts")
            self.client.close()


@contextmanager
def running(transport: str, settings: BusSettings, key: str, expect: int) -> Iterator[Bus]:
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
            wait_for(lambda: _registered(bus), 60, "the worker to register its agents", worker, log)
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
    subscribed = solo_agents.LATENCY_CHANNEL in bus.subscriptions("listener") and all(
        solo_agents.THROUGHPUT_CHANNEL in bus.subscriptions(name) for name in ("agent-1", "agent-2")
    )
    return subscribed or None


def wait_for(
    check: Callable[[], Any], timeout: float, what: str, worker: Any = None, log: Any = None
) -> Any:
    """Poll ``check`` until it returns something other than ``None``, and return that."""
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

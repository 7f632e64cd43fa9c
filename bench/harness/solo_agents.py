"""Agents a solo worker hosts (``BUS_AGENT_MODULES=bench.harness.solo_agents``), for the
figures ``bus_hosted``, ``bus_hosted_latency`` and the ``auth`` case's ``hosted``.

``agent-1`` and ``agent-2`` listen on ``#bench`` and count what they handle; ``listener``
listens on ``#benchlat`` and stamps when its handler starts. A worker subprocess reports to
Redis (``BENCH_REDIS_URL``, keys under ``BENCH_KEY``); an in-process worker to :data:`LOCAL`.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from bus.message import Message
from bus.worker import AgentRegistry, Context

THROUGHPUT_CHANNEL = "#bench"
LATENCY_CHANNEL = "#benchlat"


class Local:
    """Counts and stamps of an in-process worker."""

    def __init__(self) -> None:
        self.count = 0
        self.expect = -1
        self.done = threading.Event()
        self.done_at = 0.0
        self.starts: dict[int, float] = {}
        self.lock = threading.Lock()

    def reset(self, expect: int) -> None:
        with self.lock:
            self.count, self.expect, self.done_at = 0, expect, 0.0
            self.done.clear()
            self.starts.clear()


LOCAL = Local()
_redis: Any = None


def _client() -> Any:
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    return _redis


def _remote() -> bool:
    return "BENCH_KEY" in os.environ


def count(message: Message, ctx: Context) -> None:
    """Count a handled delivery in this process (like the raw Celery baseline's task); mark the
    time when the expected number is reached (in Redis for a worker subprocess)."""
    with LOCAL.lock:
        LOCAL.count += 1
        reached = LOCAL.count == (int(os.environ["BENCH_EXPECT"]) if _remote() else LOCAL.expect)
        if reached:
            LOCAL.done_at = time.time()
            LOCAL.done.set()
    if reached and _remote():
        _client().set(f"{os.environ['BENCH_KEY']}:done", repr(LOCAL.done_at), ex=3600)


def stamp(message: Message, ctx: Context) -> None:
    """Record when the handler of message ``seq`` started."""
    now = time.time()
    assert message.seq is not None
    if _remote():
        _client().hset(f"{os.environ['BENCH_KEY']}:starts", str(message.seq), repr(now))
        return
    with LOCAL.lock:
        LOCAL.starts[message.seq] = now


#: The module's agents, where :func:`bus.worker.load_agents` finds them.
AGENTS = AgentRegistry()
for _name in ("agent-1", "agent-2"):
    AGENTS.agent(_name, channels=[THROUGHPUT_CHANNEL]).on()(count)
AGENTS.agent("listener", channels=[LATENCY_CHANNEL]).on()(stamp)

"""The Celery app of the ``raw_celery`` baseline: ``celery -A bench.baselines.raw_celery_app
worker``.

It is configured like the bus's own app (:func:`bus.celery.create_app`: JSON, late acks, the
bus's prefetch multiplier, 16 on RabbitMQ: :data:`bench.baselines.raw_celery.AMQP_PREFETCH`) and
has one task, ``bench.deliver(agent, channel, seq, message=...)``, shaped like a bus delivery.
The task counts what it ran; a :class:`Tally` says when the warm-up and the timed batch are
done: in this process (an event, for the in-thread worker) or in Redis (keys ``<key>:warm`` and
``<key>:done`` holding ``time.time()``, for a worker subprocess). The subprocess reads
``BENCH_*`` environment variables (see :func:`from_env`).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from celery import Celery
from celery.signals import worker_ready

from bus.broker.celery_app import create_app
from bus.settings import BusSettings

TASK = "bench.deliver"


class Tally:
    """Counts tasks; marks the time the ``warm``-th and the ``expect``-th one finished."""

    def __init__(
        self, warm: int, expect: int, redis_url: str | None = None, key: str | None = None
    ) -> None:
        self.warm, self.expect, self.count = warm, expect, 0
        self.warm_at = self.done_at = 0.0
        self.warmed, self.done = threading.Event(), threading.Event()
        self._key = key
        self._redis: Any = None
        if redis_url is not None:
            import redis

            self._redis = redis.Redis.from_url(redis_url)

    def hit(self) -> None:
        self.count += 1
        if self.count == self.warm:
            self.warm_at = time.time()
            self._mark("warm", self.warm_at)
            self.warmed.set()
        if self.count == self.expect:
            self.done_at = time.time()
            self._mark("done", self.done_at)
            self.done.set()

    def _mark(self, what: str, when: float) -> None:
        if self._redis is not None:
            self._redis.set(f"{self._key}:{what}", repr(when), ex=3600)


def build_app(broker_url: str, namespace: str, tally: Tally) -> Celery:
    """An app like the bus's (same settings), with the counting ``bench.deliver`` task."""
    app = create_app(BusSettings(broker_url=broker_url, namespace=namespace))
    app.conf.update(worker_enable_remote_control=False, worker_hijack_root_logger=False)
    if os.environ.get("BENCH_PREFETCH"):
        app.conf.worker_prefetch_multiplier = int(os.environ["BENCH_PREFETCH"])

    @app.task(  # type: ignore[untyped-decorator]
        name=TASK, ignore_result=True, shared=False
    )
    def deliver(agent: str, channel: str | None, seq: int, message: Any = None) -> None:
        tally.hit()

    return app


def from_env() -> Celery:
    """The app a worker subprocess runs, from ``BENCH_BROKER_URL``, ``BENCH_NAMESPACE``,
    ``BENCH_REDIS_URL``, ``BENCH_KEY``, ``BENCH_WARM`` and ``BENCH_EXPECT``."""
    env = os.environ
    tally = Tally(
        int(env.get("BENCH_WARM", "1")),
        int(env.get("BENCH_EXPECT", "1")),
        env.get("BENCH_REDIS_URL"),
        env.get("BENCH_KEY", "bench:raw"),
    )
    redis_url, key = env.get("BENCH_REDIS_URL"), env.get("BENCH_KEY")
    if redis_url is not None and key is not None:
        import redis

        client = redis.Redis.from_url(redis_url)

        @worker_ready.connect(weak=False)  # type: ignore[untyped-decorator]
        def _ready(**_kwargs: Any) -> None:
            client.set(f"{key}:ready", repr(time.time()), ex=3600)

    return build_app(
        env.get("BENCH_BROKER_URL", "memory://"), env.get("BENCH_NAMESPACE", "benchraw"), tally
    )


def __getattr__(name: str) -> Any:
    # ``celery -A bench.baselines.raw_celery_app`` asks for ``app``; importing this module does
    # not build it.
    if name == "app":
        built = from_env()
        globals()["app"] = built
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

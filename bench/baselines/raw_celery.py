"""The baseline ``raw_celery`` (case ``throughput``): one plain Celery task per delivery (2N
for N messages to 2 agents), sent straight to a queue and run by a real Celery worker (pool
solo, concurrency 1).

memory:// runs the worker in a thread of this process (``start_worker``); redis and amqp run
``celery -A bench.baselines.raw_celery_app worker`` as a subprocess and learn it finished from
Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from kombu import Exchange, Queue

from bench.baselines.raw_celery_app import TASK, Tally, build_app
from bench.common import REDIS_URL, ROOT, Record, Run, broker_url, figure, payload
from bus.settings import BusSettings
from bus.testing import worker_command

WARM = 20
LOGLEVEL = os.environ.get("BENCH_CELERY_LOGLEVEL", "WARNING")


def _message(seq: int) -> dict[str, Any]:
    """A stand-in for a bus message dict of :data:`bench.common.PAYLOAD_BYTES` content."""
    return {"seq": seq, "channel": "#bench", "sender": "bench", "content": payload()}


def _send(app: Celery, count: int, first_seq: int) -> None:
    with app.producer_or_acquire() as producer:
        for seq in range(first_seq, first_seq + count):
            message = _message(seq)
            for agent in ("agent-1", "agent-2"):
                app.send_task(
                    TASK,
                    args=(agent, "#bench", seq),
                    kwargs={"message": message},
                    producer=producer,
                )


def _wait(check: Callable[[], float | None], timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        time.sleep(0.002)
    raise TimeoutError(f"raw Celery worker: {what} did not happen within {timeout:.0f} s")


def _delete_queue(app: Celery) -> None:
    name = app.conf.task_default_queue
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        Queue(name, Exchange(name), routing_key=name)(channel).delete()
        Exchange(name, type="direct")(channel).delete()


#: The raw worker's prefetch multiplier on RabbitMQ. With the bus's default (4) a solo Celery
#: 5.7 worker running this burst of instant tasks sat idle for 10 s at a time until the next
#: AMQP heartbeat tick woke it (3 of 4 runs of 6,000 tasks: 37-58 tasks/s, or not done in
#: 180 s); with 16 it ran 1,900-2,000 tasks/s in 5 of 5. Celery's guide advises a higher
#: multiplier for many short tasks, so a Celery user would configure it so; the baseline is
#: the raw worker at its best, not one that stalls.
AMQP_PREFETCH = 16


def _prefetch(transport: str) -> int:
    """The worker's prefetch multiplier: the bus's own default (:data:`AMQP_PREFETCH` on
    RabbitMQ); each figure records it."""
    if transport == "amqp":
        return AMQP_PREFETCH
    return BusSettings().worker_prefetch_multiplier


def _result(transport: str, n: int, seconds: float, sent: float, how: str) -> list[Record]:
    deliveries = 2 * n
    return [
        figure(
            transport,
            "raw_celery",
            deliveries / seconds,
            "deliveries/s",
            n,
            deliveries=deliveries,
            seconds=round(seconds, 4),
            send_seconds=round(sent, 4),
            worker=how,
            prefetch_multiplier=_prefetch(transport),
        )
    ]


def throughput(transport: str, run: Run) -> list[Record]:
    """Deliveries/s of a Celery worker running one counting task per delivery."""
    if transport == "memory":
        return _in_thread(run)
    return _subprocess(transport, run)


def _in_thread(run: Run) -> list[Record]:
    n = run.n
    tally = Tally(WARM, WARM + 2 * n)
    app = build_app(broker_url("memory"), run.ns("rawcelery"), tally)
    try:
        with start_worker(
            app,
            pool="solo",
            concurrency=1,
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=30,
        ):
            _send(app, WARM // 2, 0)
            if not tally.warmed.wait(60):
                raise TimeoutError("raw Celery in-thread worker never ran the warm-up tasks")
            start = time.time()
            _send(app, n, WARM)
            sent = time.time() - start
            if not tally.done.wait(120 + n / 50):
                raise TimeoutError(f"raw Celery worker ran {tally.count - WARM} of {2 * n}")
        return _result("memory", n, tally.done_at - start, sent, "thread, pool solo")
    finally:
        _delete_queue(app)


def _subprocess(transport: str, run: Run) -> list[Record]:
    n, namespace = run.n, run.ns("rawcelery")
    key = f"{namespace}:rawcelery"
    client = redis.Redis.from_url(REDIS_URL)
    env = dict(
        os.environ,
        BENCH_BROKER_URL=broker_url(transport),
        BENCH_NAMESPACE=namespace,
        BENCH_REDIS_URL=REDIS_URL,
        BENCH_KEY=key,
        BENCH_WARM=str(WARM),
        BENCH_EXPECT=str(WARM + 2 * n),
        BENCH_PREFETCH=str(_prefetch(transport)),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    app = build_app(broker_url(transport), namespace, Tally(0, 0))
    command = worker_command(
        "bench.baselines.raw_celery_app",
        loglevel=LOGLEVEL,
        hostname=f"{namespace}@%h",
        queues=[app.conf.task_default_queue],
        without=("heartbeat", "mingle", "gossip"),
    )
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally); not a pipe: a chatty worker must never block on it
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def marker(what: str) -> Callable[[], float | None]:
        def check() -> float | None:
            if worker.poll() is not None:
                log.seek(0)
                error = log.read().decode(errors="replace")
                raise RuntimeError(f"celery worker exited ({worker.returncode}): {error[-800:]}")
            value = client.get(f"{key}:{what}")
            return None if value is None else float(value)

        return check

    try:
        _wait(marker("ready"), 60, "worker ready")
        _send(app, WARM // 2, 0)
        _wait(marker("warm"), 60, "warm-up")
        start = time.time()
        _send(app, n, WARM)
        sent = time.time() - start
        done_at = _wait(marker("done"), 120 + n / 50, f"{2 * n} tasks")
        return _result(transport, n, done_at - start, sent, "subprocess, pool solo")
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)
        log.seek(0)
        tail = log.read()[-3000:].decode(errors="replace")
        log.close()
        if os.environ.get("BENCH_DEBUG"):
            print(f"celery worker log tail:\n{tail}", file=sys.stderr)
        client.delete(*(f"{key}:{what}" for what in ("ready", "warm", "done")))
        _delete_queue(app)
        client.close()

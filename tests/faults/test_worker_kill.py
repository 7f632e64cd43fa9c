"""A worker is killed (``kill -9``) mid-handler while a second worker runs: how soon does the
stream go on, and is anything lost, reordered or handled twice at once?

Two ``celery -A bus worker`` processes (the default threads pool, the default lease, liveness
and sweep settings: this measures what a deployment gets) host agent ``ha`` of
tests/helpers/timed_agents.py against a private Redis (broker and store) or a private RabbitMQ
node with a private Redis as store. Each round publishes a message whose handler takes 2 s and
two quick ones after it, waits until the slow handler started, kills its worker with SIGKILL,
and reads when the stream's next handler started (the handlers record their start and end
times). A new worker, started right after the kill, replaces the killed one before the next round.

Reported, not asserted (the machine's load is not the code's): the time from the kill to the
next handler start, p50 and p99 over the rounds. Asserted: nothing acknowledged is lost, the
first handling of each message keeps the stream's order, and no two handlers of the stream
ever ran at the same time (from the records, a killed handler ending at its kill).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import statistics
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import cast

import pytest
import redis

from bus import Bus
from bus.settings import BusSettings
from tests.brokers import new_namespace
from tests.support.servers import RedisServer
from tests.worker.harness import WorkerProcess, wait_for

pytestmark = [pytest.mark.fault, pytest.mark.slow]
AGENT = "ha"
CHANNEL = "#engineering"
ROUNDS = 10
#: Long enough that a kill lands in the middle of the handler.
SLOW = "sleep:2"


class Records:
    """The timed agent's records, read from the private Redis."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._client = client
        self._key = f"{namespace}:test:timed"

    def rows(self) -> list[tuple[str, int, int, int, float]]:
        """``(phase, seq, attempt, pid, time)`` of every record so far."""
        found = []
        lines = cast(list[bytes], self._client.lrange(self._key, 0, -1))
        for raw in lines:
            phase, _, _, seq, attempt, pid, at = raw.decode().split()
            found.append((phase, int(seq), int(attempt), int(pid), float(at)))
        return found

    def started(self, seq: int) -> list[tuple[int, float]]:
        """``(pid, time)`` of every start of ``seq``."""
        return [(pid, at) for phase, s, _, pid, at in self.rows() if phase == "start" and s == seq]

    def done(self) -> list[int]:
        """The seqs whose handler finished, in the order they finished."""
        return [seq for phase, seq, _, _, _ in self.rows() if phase == "done"]


@pytest.fixture(params=["redis", pytest.param("amqp", marks=pytest.mark.amqp)])
def deployment(
    request: pytest.FixtureRequest, redis_server: RedisServer, tmp_path: Path
) -> Iterator[BusSettings]:
    """Settings of a bus on private servers: the defaults but for the namespace and broker."""
    broker = redis_server.url
    if request.param == "amqp":
        broker = request.getfixturevalue("rabbit_node").url
    settings = BusSettings(
        broker_url=broker, store_url=redis_server.url, namespace=new_namespace("kill")
    )
    yield settings
    with contextlib.suppress(Exception):  # a broken broker must not hide the test's result
        Bus(settings).start().destroy()


def _started_elsewhere(records: Records, seq: int, pid: int) -> bool:
    return any(other != pid for other, _ in records.started(seq))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _overlaps(rows: list[tuple[str, int, int, int, float]], killed: dict[int, float]) -> list[str]:
    """Handler runs of the stream that overlapped in time (a killed one ends at its kill)."""
    runs: dict[tuple[int, int, int], list[float]] = {}
    for phase, seq, attempt, pid, at in rows:
        span = runs.setdefault((seq, attempt, pid), [at, math.inf])
        if phase == "done":
            span[1] = at
    spans = []
    for (seq, attempt, pid), (start, end) in runs.items():
        if end == math.inf:
            end = killed.get(pid, math.inf)
        spans.append((start, end, f"#{seq} attempt {attempt} in {pid}"))
    spans.sort()
    return [
        f"{first[2]} [{first[0]:.3f}, {first[1]:.3f}] and {second[2]} from {second[0]:.3f}"
        for first, second in itertools.pairwise(spans)
        if second[0] < first[1]
    ]


def test_a_killed_workers_stream_goes_on_at_another_worker_without_loss_or_overlap(
    deployment: BusSettings, redis_server: RedisServer, tmp_path: Path
) -> None:
    settings = deployment
    env = {"BUS_TEST_RECORD_URL": redis_server.url}
    records = Records(redis_server.client(), settings.namespace)

    def worker(index: int) -> WorkerProcess:
        return WorkerProcess(
            settings,
            pool=None,
            concurrency=None,
            log=tmp_path / f"worker-{index}.log",
            modules="tests.helpers.timed_agents",
            env=env,
        )

    workers = [worker(0), worker(1)]
    started = 2
    recoveries: list[float] = []
    killed: dict[int, float] = {}
    published: list[int] = []
    try:
        for each in workers:
            each.wait_ready()
        with Bus(settings) as bus:
            wait_for(lambda: CHANNEL in bus.subscriptions(AGENT), 30, "the agent to register")
            for _ in range(ROUNDS):
                slow = bus.publish(CHANNEL, SLOW, sender="tester").seq
                assert slow is not None
                published.append(slow)
                for _ in range(2):
                    seq = bus.publish(CHANNEL, "quick", sender="tester").seq
                    assert seq is not None
                    published.append(seq)
                wait_for(partial(records.started, slow), 60, f"#{slow} to start")
                pid = records.started(slow)[0][0]
                victim = next(w for w in workers if w.process.pid == pid)
                killed[pid] = time.time()
                victim.kill()
                workers.remove(victim)
                # The replacement starts while the stream recovers (two run again for the next
                # round); it cannot take the stream over sooner than the surviving worker could.
                replacement = worker(started)
                started += 1
                workers.append(replacement)
                wait_for(
                    partial(_started_elsewhere, records, slow, pid),
                    120,
                    f"#{slow} to start again elsewhere",
                )
                again = min(at for p, at in records.started(slow) if p != pid)
                recoveries.append(again - killed[pid])
                replacement.wait_ready()
                wait_for(
                    lambda: set(published) <= set(records.done()), 60, "the round to be handled"
                )
    finally:
        for each in workers:
            each.stop()

    rows = records.rows()
    done = records.done()
    first_seen = list(dict.fromkeys(done))
    print(
        f"\nrecovery after kill -9 on {settings.broker_url.split(':')[0]} "
        f"({len(recoveries)} kills): p50 {statistics.median(recoveries):.2f} s, "
        f"p99 {_percentile(recoveries, 0.99):.2f} s, max {max(recoveries):.2f} s; "
        f"each: {', '.join(f'{value:.2f}' for value in recoveries)}"
    )
    assert set(published) <= set(done), f"lost: {sorted(set(published) - set(done))}"
    assert first_seen == sorted(first_seen), f"order broken: {first_seen}"
    assert not _overlaps(rows, killed), _overlaps(rows, killed)

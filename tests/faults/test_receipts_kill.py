"""A worker killed (``kill -9``) mid-handler, with a second worker running: the message's receipt
shows it in progress at the first worker (attempt 1), then handled by the second with attempts 2
(issue 17). A crash records no failure: the takeover counts the lost attempt
(``bus/store/redis/lua/step.lua``)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import cast

import pytest
import redis

from bus import Bus
from bus.receipts import DeliveryState
from tests.brokers import REDIS_URL, require, settings_for
from tests.worker.harness import WorkerProcess, wait_for

pytestmark = [pytest.mark.fault, pytest.mark.slow, pytest.mark.redis]
AGENT = "ha"
CHANNEL = "#engineering"


def _starts(client: redis.Redis, namespace: str, seq: int) -> list[tuple[int, int]]:
    """``(attempt, pid)`` of each start of ``seq`` the timed agent recorded."""
    lines = cast(list[bytes], client.lrange(f"{namespace}:test:timed", 0, -1))
    rows = [line.decode().split() for line in lines]
    return [(int(r[4]), int(r[5])) for r in rows if r[0] == "start" and int(r[3]) == seq]


def test_a_worker_killed_mid_handler_shows_in_progress_then_handled_with_attempts_2(
    tmp_path: Path,
) -> None:
    require("redis")
    settings = settings_for("redis")
    client = redis.Redis.from_url(REDIS_URL)
    workers = [
        WorkerProcess(
            settings,
            pool=None,
            concurrency=None,
            log=tmp_path / f"worker-{index}.log",
            modules="tests.helpers.timed_agents",
            env={"BUS_TEST_RECORD_URL": REDIS_URL},
        )
        for index in range(2)
    ]
    try:
        for each in workers:
            each.wait_ready()
        with Bus(settings) as bus:
            wait_for(lambda: CHANNEL in bus.subscriptions(AGENT), 30, "the agent to register")
            message = bus.publish(CHANNEL, "sleep:8", sender="tester")
            assert message.seq is not None
            seq = message.seq
            wait_for(lambda: _starts(client, settings.namespace, seq), 30, "the handler to start")
            (_, pid), *_ = _starts(client, settings.namespace, seq)
            status = bus.wait_for(message.id, "in_progress", timeout=30)
            member = status.members[AGENT]
            assert member.state is DeliveryState.IN_PROGRESS
            assert member.attempts == 1
            assert member.worker is not None
            assert f"/{pid}/" in member.worker  # the token names the worker: host/pid/nonce
            victim = next(w for w in workers if w.process.pid == pid)
            victim.kill()
            workers.remove(victim)
            bus.publish(CHANNEL, "quick", sender="tester")  # the stream goes on after it
            # The takeover runs the message again: attempt 2 (the handler sleeps on).
            wait_for(
                lambda: any(p != pid for _, p in _starts(client, settings.namespace, seq)),
                60,
                "another worker to start the message again",
            )
            status = bus.status(message.id)
            assert status.members[AGENT].state is DeliveryState.IN_PROGRESS
            assert status.members[AGENT].attempts == 2
            assert [a for a, p in _starts(client, settings.namespace, seq) if p != pid] == [2]
            status = bus.wait_for(message.id, "handled", timeout=60)
            member = status.members[AGENT]
            assert member.state is DeliveryState.HANDLED
            assert member.attempts == 2
            assert member.error is not None
            assert "lost" in member.error
    finally:
        for each in workers:
            each.stop()
        with contextlib.suppress(Exception):
            Bus(settings).start().destroy()
        client.delete(f"{settings.namespace}:test:timed")
        client.close()

"""Delivery receipts (issue 17) with real workers: a broadcast to four members where one
handles it, one is slow, one is offline and one fails until the message is dead-lettered;
``status`` shows exactly that, and the offline member turns handled when it comes back.
Real ``celery -A bus worker`` subprocesses on Redis and RabbitMQ, an embedded worker on
memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from bus import Bus, DeliveryState, DeliveryStatus
from bus.broker.celery_app import create_app
from bus.settings import BusSettings
from bus.worker import EmbeddedWorker, install, load_agents
from tests.brokers import REDIS_URL, settings_for
from tests.helpers import receipt_agents
from tests.worker.harness import FAST, WorkerProcess

MODULE = "tests.helpers.receipt_agents"
CHANNEL = receipt_agents.CHANNEL


def _settled(status: DeliveryStatus) -> bool:
    """rc-done handled, rc-fail dead-lettered, rc-slow in progress: the moment to look."""
    return (
        status.members["rc-done"].state is DeliveryState.HANDLED
        and status.members["rc-fail"].state is DeliveryState.DEAD_LETTERED
        and status.members["rc-slow"].state is DeliveryState.IN_PROGRESS
    )


def _scenario(bus: Bus, release: Callable[[], object]) -> None:
    bus.register_agent("rc-offline")  # #all-hands reaches every agent: a member, not hosted
    message = bus.publish(CHANNEL, "who gets this?", sender="ceo", type="task")
    status = bus.status(message.id)
    assert sorted(status.members) == ["rc-done", "rc-fail", "rc-offline", "rc-slow"]
    assert (status.channel, status.seq, status.sender) == (CHANNEL, message.seq, "ceo")
    bus.wait_for(message.id, members=["rc-done", "rc-fail"], timeout=30)
    status = bus.wait_for(message.id, "in_progress", members=["rc-slow"], timeout=30)
    assert _settled(status), status
    members = status.members
    assert members["rc-done"].attempts == 1
    assert members["rc-offline"].state is DeliveryState.QUEUED
    assert members["rc-slow"].attempts == 1
    assert members["rc-slow"].worker is not None
    assert members["rc-slow"].since is not None
    failed = members["rc-fail"]
    assert failed.attempts == FAST["max_retries"] + 1
    assert failed.error is not None
    assert "rc-fail cannot handle" in failed.error
    letters = bus.history(bus.settings.dead_letter_channel)
    assert failed.dead_letter_seq == letters[-1].seq
    assert status.failed == ["rc-fail"]
    # The offline member comes back (a pull reader) and the slow one is let go.
    received = bus.receive("rc-offline", channel=CHANNEL, timeout=5)
    assert received is not None
    assert received.id == message.id
    release()
    final = bus.wait_for(message.id, timeout=30)
    assert {name: member.state for name, member in final.members.items()} == {
        "rc-done": DeliveryState.HANDLED,
        "rc-fail": DeliveryState.DEAD_LETTERED,
        "rc-offline": DeliveryState.HANDLED,
        "rc-slow": DeliveryState.HANDLED,
    }


def test_a_broadcast_to_four_members_shows_each_ones_state_in_workers(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    worker = WorkerProcess(broker_settings, pool="threads", concurrency=8, log=log, modules=MODULE)
    client = redis.Redis.from_url(REDIS_URL)
    key = f"{broker_settings.namespace}:test:release"
    try:
        worker.wait_ready()
        with Bus(broker_settings) as bus:
            _scenario(bus, lambda: client.rpush(key, "go"))
    finally:
        worker.stop()
        client.delete(key)


@pytest.fixture
def embedded() -> Iterator[Bus]:
    """A bus whose receipt agents run in an embedded worker on memory://."""
    settings = settings_for("memory", **FAST)
    app = create_app(settings)
    install(app, settings, load_agents([MODULE]))
    receipt_agents.RELEASE.clear()
    try:
        with Bus(settings, app=app) as bus, EmbeddedWorker(app, pool="threads", concurrency=8):
            yield bus
            receipt_agents.RELEASE.set()
    finally:
        Bus(settings).start().destroy()


@pytest.mark.memory
def test_a_broadcast_to_four_members_shows_each_ones_state_embedded(embedded: Bus) -> None:
    _scenario(embedded, receipt_agents.RELEASE.set)

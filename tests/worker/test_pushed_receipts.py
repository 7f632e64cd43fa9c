"""Pushed receipts (issue 17) with real workers: a message to two members where one handles it
and one fails until it is dead-lettered. Its sender gets a ``handled`` and a ``dead_lettered``
receipt, in order, once each: a hosted sender through its ``on_receipt`` handler, a pull sender
through ``receive``; a sender that did not opt in gets none. Real ``celery -A bus worker``
subprocesses on Redis and RabbitMQ, an embedded worker on memory (coalesced deliveries there).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from bus import Bus, DeliveryState, Retention
from bus.broker.celery_app import create_app
from bus.message import Message
from bus.receipts import RECEIPT_TYPE, Receipt, receipt_of
from bus.settings import BusSettings
from bus.store import direct_stream
from bus.worker import EmbeddedWorker, install, load_agents
from tests.brokers import REDIS_URL, settings_for
from tests.helpers import pushed_receipt_agents, recorder_agents
from tests.worker.harness import FAST, WorkerProcess

MODULE = "tests.helpers.pushed_receipt_agents"
CHANNEL = pushed_receipt_agents.CHANNEL
EXPECTED = [("pr-done", "handled"), ("pr-fail", "dead_lettered")]


def _in_order(records: list[tuple[int, str, str, str]], message_id: str) -> list[tuple[str, str]]:
    """(member, state) of ``message_id``'s receipts, checking their seqs increase."""
    mine = [record for record in records if record[1] == message_id]
    seqs = [record[0] for record in mine]
    assert seqs == sorted(set(seqs)), records  # in their inbox's order, each once
    return sorted((member, state) for _, _, member, state in mine)


def _scenario(bus: Bus, hosted_records: Callable[[], list[str]]) -> None:
    bus.register_agent("pr-pull", receipts=True)
    bus.register_agent("pr-quiet")
    by_boss = bus.publish(CHANNEL, "from the hosted sender", sender="pr-boss")
    by_pull = bus.publish(CHANNEL, "from the pull sender", sender="pr-pull")
    quiet = bus.publish(CHANNEL, "from a sender that did not opt in", sender="pr-quiet")
    for message in (by_boss, by_pull, quiet):
        status = bus.wait_for(message.id, members=["pr-done", "pr-fail"], timeout=30)
        assert status.members["pr-fail"].state is DeliveryState.DEAD_LETTERED
    # The pull sender: two receipts through receive, in its inbox's order, nothing else.
    pulled: list[tuple[int, str, str, str]] = []
    while len(pulled) < 2:
        received = bus.receive("pr-pull", timeout=10)
        assert received is not None, pulled
        assert received.type == RECEIPT_TYPE
        receipt = receipt_of(received)
        assert receipt is not None
        assert received.seq is not None
        pulled.append((received.seq, str(receipt.message_id), receipt.member, receipt.state.value))
    assert _in_order(pulled, str(by_pull.id)) == EXPECTED
    assert [message_id for _, message_id, _, _ in pulled] == [str(by_pull.id)] * 2
    dead = next(record for record in pulled if record[2] == "pr-fail")
    assert dead[3] == "dead_lettered"
    assert bus.receive("pr-pull", timeout=0.5) is None  # once each
    # The hosted sender: its on_receipt handler got the two of its message.
    deadline = time.monotonic() + 30
    while True:
        lines = [line.split() for line in hosted_records() if line.startswith("receipt ")]
        records = [
            (int(seq), message_id, member, state) for _, seq, message_id, member, state, _ in lines
        ]
        if len(records) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert _in_order(records, str(by_boss.id)) == EXPECTED
    assert len(records) == 2, records
    # No receipt is stored for a sender that did not opt in.
    assert bus.store.log.history(direct_stream("pr-quiet")) == []
    _request_receipt(bus)


def _request_receipt(bus: Bus) -> None:
    """A request to the hosted pr-oracle: its requester gets one ``handled`` receipt, pushed
    when it got the reply; the worker's commit of the request pushes none."""
    reply = bus.request("pr-oracle", "the answer?", sender="pr-pull", timeout=30)
    assert reply.content == "42"
    request_id = reply.causation_id
    assert request_id is not None
    placed = bus.store.log.placed(str(request_id))
    assert placed is not None
    deadline = time.monotonic() + 30  # the worker commits after its handler returned
    while (bus.store.log.position("pr-oracle", placed[0]) or 0) < placed[1]:
        assert time.monotonic() < deadline, "pr-oracle's commit of the request never came"
        time.sleep(0.05)
    received = bus.receive("pr-pull", timeout=10)
    assert received is not None
    receipt = receipt_of(received)
    assert receipt is not None
    assert (receipt.message_id, receipt.member, receipt.state) == (
        request_id,
        "pr-oracle",
        DeliveryState.HANDLED,
    )
    assert "replied" in received.content
    assert bus.receive("pr-pull", timeout=0.5) is None  # once: the commit pushed none


def test_senders_get_their_receipts_pushed_by_workers(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    key = f"{broker_settings.namespace}:test:runs"
    with Bus(broker_settings) as bus:
        bus.create_channel(CHANNEL)
    worker = WorkerProcess(
        broker_settings, pool="threads", concurrency=4, log=tmp_path / "worker.log", modules=MODULE
    )
    try:
        worker.wait_ready()
        with Bus(broker_settings) as bus:
            _scenario(bus, lambda: [str(line) for line in client.lrange(key, 0, -1)])
    finally:
        worker.stop()
        client.delete(key)


@pytest.fixture
def embedded() -> Iterator[Bus]:
    """A bus whose agents run in an embedded worker on memory://, deliveries coalesced."""
    settings = settings_for("memory", coalesce_deliveries=True, **FAST)
    app = create_app(settings)
    with Bus(settings, app=app) as bus:
        bus.create_channel(CHANNEL)
    install(app, settings, load_agents([MODULE]))
    recorder_agents.RUNS.clear()
    try:
        with Bus(settings, app=app) as bus, EmbeddedWorker(app, pool="threads", concurrency=4):
            yield bus
    finally:
        Bus(settings).start().destroy()


@pytest.mark.memory
def test_senders_get_their_receipts_pushed_embedded(embedded: Bus) -> None:
    _scenario(embedded, lambda: list(recorder_agents.RUNS))


def _skipped_before_start(bus: Bus) -> list[Message]:
    """pr-done and pr-fail lag: 4 messages of the pull sender on a channel that keeps 2."""
    bus.create_channel(CHANNEL, retention=Retention(max_messages=2))
    bus.register_agent("pr-done", channels=[CHANNEL])
    bus.register_agent("pr-fail", channels=[CHANNEL])
    bus.register_agent("pr-pull", receipts=True)
    return [bus.publish(CHANNEL, f"m{n}", sender="pr-pull") for n in range(1, 5)]


def _skip_receipts(bus: Bus, posted: list[Message]) -> None:
    """The run that finds the skip pushes one receipt per member for it, with the count."""
    got: dict[tuple[str, str], list[Receipt]] = {}
    while sum(len(receipts) for receipts in got.values()) < 6:
        message = bus.receive("pr-pull", timeout=30)
        assert message is not None, got
        receipt = receipt_of(message)
        assert receipt is not None
        got.setdefault((receipt.member, receipt.state.value), []).append(receipt)
    assert bus.receive("pr-pull", timeout=0.5) is None  # once each
    assert sorted((key, len(receipts)) for key, receipts in got.items()) == [
        (("pr-done", "handled"), 2),
        (("pr-done", "skipped"), 1),
        (("pr-fail", "dead_lettered"), 2),
        (("pr-fail", "skipped"), 1),
    ]
    for member in ("pr-done", "pr-fail"):
        (skipped,) = got[(member, "skipped")]
        assert (skipped.message_id, skipped.messages) == (posted[0].id, 2)
        assert (skipped.seq, skipped.last_seq) == (posted[0].seq, posted[1].seq)


@pytest.mark.memory
def test_a_hosted_members_skip_pushes_a_skipped_receipt_embedded() -> None:
    settings = settings_for("memory", **FAST)
    app = create_app(settings)
    with Bus(settings, app=app) as bus:
        posted = _skipped_before_start(bus)
    install(app, settings, load_agents([MODULE]))
    try:
        with Bus(settings, app=app) as bus, EmbeddedWorker(app, pool="threads", concurrency=4):
            _skip_receipts(bus, posted)
    finally:
        Bus(settings).start().destroy()


def test_a_hosted_members_skip_pushes_a_skipped_receipt_in_workers(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    with Bus(broker_settings) as bus:
        posted = _skipped_before_start(bus)
    worker = WorkerProcess(
        broker_settings, pool="threads", concurrency=4, log=tmp_path / "worker.log", modules=MODULE
    )
    try:
        worker.wait_ready()
        with Bus(broker_settings) as bus:
            _skip_receipts(bus, posted)
    finally:
        worker.stop()

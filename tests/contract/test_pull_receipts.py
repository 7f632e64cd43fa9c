"""Pushed receipts of pull members (issue 17) on every transport: a pull member's hand-over
(``receive``) pushes a ``handled`` receipt to a sender that consumes receipts, in the step that
moves the member's position, once per message, one at a time and in batches; a sender that
did not opt in gets none."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest

from bus import Bus, DeliveryState, Retention
from bus.message import Message
from bus.receipts import Receipt, receipt_of
from bus.store import direct_stream
from tests.brokers import settings_for
from tests.helpers.oracle import ask_the_oracle


@pytest.fixture(params=[1, 4], ids=["one-at-a-time", "batch-of-4"])
def batched(transport: str, request: pytest.FixtureRequest) -> Iterator[Bus]:
    """A started bus whose receives take ``receive_batch`` messages per store call."""
    bus = Bus(settings_for(transport, receive_batch=request.param)).start()
    try:
        yield bus
    finally:
        bus.destroy()


def _receipts(bus: Bus, agent: str, count: int) -> list[Receipt]:
    """The next ``count`` messages ``agent`` receives, each a receipt."""
    got: list[Receipt] = []
    while len(got) < count:
        message = bus.receive(agent, timeout=10)
        assert message is not None, got
        receipt = receipt_of(message)
        assert receipt is not None, message
        got.append(receipt)
    return got


def test_a_pull_members_hand_over_pushes_a_handled_receipt_to_a_consuming_sender(
    batched: Bus,
) -> None:
    bus = batched
    bus.register_agent("boss", receipts=True)
    bus.register_agent("quiet")
    bus.register_agent("pm", channels=["#engineering"])
    # Consuming and quiet senders interleaved: a batch must end before each of boss's messages.
    posted = [
        bus.publish("#engineering", f"task {n}", sender="boss" if n % 2 == 0 else "quiet")
        for n in range(6)
    ]
    direct = bus.send("pm", "just you", sender="boss")
    handed: list[UUID] = []
    for _ in range(len(posted) + 1):
        message = bus.receive("pm", timeout=10)
        assert message is not None, handed
        handed.append(message.id)
    assert sorted(handed) == sorted(message.id for message in [*posted, direct])
    assert [id_ for id_ in handed if id_ != direct.id] == [message.id for message in posted]
    assert bus.receive("pm", timeout=0.2) is None  # each handed over once
    # boss: one handled receipt per message of its that pm was handed, in hand-over order.
    mine = [id_ for id_ in handed if id_ in {posted[0].id, posted[2].id, posted[4].id, direct.id}]
    receipts = _receipts(bus, "boss", len(mine))
    assert [receipt.message_id for receipt in receipts] == mine
    assert {(receipt.member, receipt.state, receipt.attempts) for receipt in receipts} == {
        ("pm", DeliveryState.HANDLED, 1)
    }
    by_id = {receipt.message_id: receipt for receipt in receipts}
    assert by_id[posted[2].id].channel == "#engineering"
    assert by_id[posted[2].id].seq == posted[2].seq
    assert by_id[direct.id].channel is None
    assert bus.receive("boss", timeout=0.2) is None  # once each
    # status agrees, and a sender that did not opt in has nothing in its inbox.
    assert bus.status(posted[4].id).members["pm"].state is DeliveryState.HANDLED
    assert bus.store.log.history(direct_stream("quiet")) == []


def test_a_receipt_handed_over_pushes_no_receipt_and_the_reader_reads_on(bus: Bus) -> None:
    bus.register_agent("boss", receipts=True)
    bus.register_agent("pm", receipts=True, channels=["#engineering"])
    posted = bus.publish("#engineering", "work", sender="boss")
    received = bus.receive("pm", timeout=10)
    assert received is not None
    assert received.id == posted.id
    (receipt,) = _receipts(bus, "boss", 1)  # boss's hand-over of the receipt pushes none
    assert (receipt.member, receipt.state) == ("pm", DeliveryState.HANDLED)
    assert bus.receive("pm", timeout=0.2) is None
    assert bus.receive("boss", timeout=0.2) is None


def test_a_skip_pushes_one_skipped_receipt_per_consuming_sender_with_the_count(bus: Bus) -> None:
    bus.create_channel("#tiny", retention=Retention(max_messages=4))
    bus.register_agent("boss", receipts=True)
    bus.register_agent("quiet")
    bus.register_agent("slow", channels=["#tiny"])
    senders = ["boss", "quiet", "boss", "boss", "quiet", "quiet", "quiet", "quiet"]
    posted = [bus.publish("#tiny", f"m{n}", sender=who) for n, who in enumerate(senders, 1)]
    # Retention kept m5..m8: slow's next receive skips m1..m4, three of them boss's (the index
    # still knows the ids of as many trimmed messages as the channel retains).
    received = bus.receive("slow", channel="#tiny", timeout=10)
    assert received is not None
    assert received.id == posted[4].id
    (receipt,) = _receipts(bus, "boss", 1)
    assert (receipt.member, receipt.state) == ("slow", DeliveryState.SKIPPED)
    assert (receipt.message_id, receipt.seq) == (posted[0].id, posted[0].seq)
    assert (receipt.messages, receipt.last_seq) == (3, posted[3].seq)
    assert receipt.channel == "#tiny"
    assert bus.receive("boss", timeout=0.2) is None  # one for the run, and quiet's none
    assert bus.store.log.history(direct_stream("quiet")) == []
    assert bus.status(posted[2].id).members["slow"].state is DeliveryState.SKIPPED


@pytest.mark.parametrize("channel", [None, "#engineering"], ids=["any-stream", "one-channel"])
def test_a_steady_stream_pushes_each_receipt_in_the_hand_over_step_itself(
    bus: Bus, monkeypatch: pytest.MonkeyPatch, channel: str | None
) -> None:
    """Each hand-over is one store step with its receipt (drafted ahead, ``Batch.ahead``): only
    the first message, which no earlier step named, costs a second step."""
    bus.register_agent("boss", receipts=True)
    bus.register_agent("pm", channels=["#engineering"])
    posted = [bus.publish("#engineering", f"task {n}", sender="boss") for n in range(5)]
    steps: list[str] = []

    def counted(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            steps.append(name)
            return step(*args, **kwargs)

        return call

    monkeypatch.setattr(bus.store.log, "claim_any", counted("claim_any", bus.store.log.claim_any))
    monkeypatch.setattr(bus.store.leases, "take", counted("take", bus.store.leases.take))
    handed = []
    for _ in posted:
        message = bus.receive("pm", channel=channel, timeout=10)
        assert message is not None
        handed.append(message.id)
    assert handed == [message.id for message in posted]
    assert len(steps) == len(posted) + 1, steps
    receipts = _receipts(bus, "boss", len(posted))
    assert [receipt.message_id for receipt in receipts] == handed


def _receipts_about(bus: Bus, agent: str, message_id: UUID) -> list[Receipt]:
    """The receipts about ``message_id`` in ``agent``'s inbox (read from the log, not taken)."""
    found = []
    for entry in bus.store.log.history(direct_stream(agent)):
        receipt = receipt_of(Message.from_json(entry.json))
        if receipt is not None and receipt.message_id == message_id:
            found.append(receipt)
    return found


def test_a_request_pushes_its_handled_receipt_when_replied_not_when_handed_over(bus: Bus) -> None:
    bus.register_agent("ceo", receipts=True)
    reply, seen = ask_the_oracle(
        bus, lambda question: (question, _receipts_about(bus, "ceo", question.id))
    )
    [(question, before_reply)] = seen
    assert reply.causation_id == question.id
    assert before_reply == []  # handed over: no receipt yet
    # The requester noted the reply and pushed the receipt in one step before request returned.
    [receipt] = _receipts_about(bus, "ceo", question.id)
    assert (receipt.member, receipt.state, receipt.seq) == (
        "oracle",
        DeliveryState.HANDLED,
        question.seq,
    )
    got = _receipts(bus, "ceo", 1)
    assert [each.message_id for each in got] == [question.id]
    assert bus.receive("ceo", timeout=0.2) is None  # once: the hand-over pushed none
    assert bus.status(question.id).members["oracle"].state is DeliveryState.HANDLED

"""``Bus.trace`` on every transport: ancestors up to the oldest retained, what a message caused,
a cause trimmed by retention, a reply handed straight to a waiting requester, and an index entry
that contradicts the message it points at."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from bus import Bus, UnknownMessage
from bus.channels import Retention, Stream
from bus.cli.trace_command import render
from bus.errors import InvalidArgument
from bus.message import Message


def _caused(bus: Bus, cause: Message, channel: str, content: str) -> Message:
    return bus.publish(channel, content, sender="bot", causation_id=cause.id, hops=cause.hops + 1)


def test_a_trace_shows_the_ancestors_and_everything_the_message_caused(bus: Bus) -> None:
    bus.register_agent("alice")
    root = bus.publish("#engineering", "kickoff", sender="ceo")
    plan = _caused(bus, root, "#engineering", "plan")
    ask = bus.send("alice", "ETA?", sender="bot", causation_id=plan.id, hops=2)
    note = _caused(bus, plan, "#design", "note")
    _caused(bus, root, "#product", "sibling")  # not on the path to plan: left out

    found = bus.trace(str(plan.id))
    assert found.root.message_id == root.id
    assert [child.message_id for child in found.root.children] == [plan.id]
    (node,) = found.root.children
    assert node.asked
    assert {child.message_id for child in node.children} == {ask.id, note.id}
    shown = found.to_json()
    assert shown["children"][0]["asked"] is True
    dm = next(child for child in shown["children"][0]["children"] if "recipient" in child)
    assert (dm["recipient"], dm["seq"], dm["hops"], dm["children"]) == ("alice", 1, 2, [])
    assert found.trimmed_cause is None


def test_a_cause_trimmed_by_retention_is_named_and_the_tree_starts_below_it(bus: Bus) -> None:
    bus.create_channel("#tiny", retention=Retention(max_messages=1))
    gone = bus.publish("#tiny", "first", sender="ceo")
    kept = _caused(bus, gone, "#engineering", "answer")
    bus.publish("#tiny", "second", sender="ceo")  # trims the first
    found = bus.trace(kept.id)
    assert (found.root.message_id, found.trimmed_cause) == (kept.id, gone.id)
    with pytest.raises(UnknownMessage) as unknown:
        bus.trace(gone.id)
    assert unknown.value.context["message_id"] == str(gone.id)


def test_a_reply_handed_to_a_waiting_requester_is_in_the_tree_under_its_request(
    bus: Bus,
) -> None:
    oracle = bus.agent("oracle")
    kickoff = bus.publish("#engineering", "kickoff", sender="ceo")

    def answer() -> None:
        question = oracle.receive(timeout=10)
        assert question is not None
        oracle.reply(question, "42")

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        reply = bus.request(
            "oracle", "the answer?", sender="ceo", timeout=20, causation_id=kickoff.id, hops=1
        )
    finally:
        thread.join(10)
    question_id = reply.causation_id
    assert question_id is not None

    found = bus.trace(question_id)
    assert found.root.message_id == kickoff.id
    (question,) = found.root.children
    (answered,) = question.children
    assert (answered.message_id, answered.sender, answered.recipient) == (reply.id, "oracle", "ceo")
    assert answered.seq is None  # in no log: it went straight to the waiting requester
    assert found.to_json()["children"][0]["children"][0]["seq"] is None
    assert render(found)[-1].startswith("    └── DM to ceo (reply to a waiting request)  oracle")
    # The reply is traced by its own id too, with its ancestors.
    by_reply = bus.trace(reply.id)
    assert by_reply.root.message_id == kickoff.id
    assert by_reply.root.children[0].children[0].asked


def test_an_index_entry_that_the_message_itself_contradicts_is_not_shown(bus: Bus) -> None:
    root = bus.publish("#engineering", "kickoff", sender="ceo")
    stranger = Message(channel="#engineering", sender="mallory", content="not caused by it")
    # A store writer indexes a message under a cause its own causation_id does not name.
    bus.store.log.append(
        Stream.of_channel("#engineering").id,
        stranger.model_dump_json(exclude={"seq"}),
        int(time.time() * 1000),
        Retention(),
        message_id=str(stranger.id),
        causation_id=str(root.id),
    )
    assert bus.trace(root.id).root.children == ()


def test_a_trace_of_something_not_an_id_or_unknown_is_refused(bus: Bus) -> None:
    with pytest.raises(InvalidArgument):
        bus.trace("not-a-uuid")
    with pytest.raises(UnknownMessage):
        bus.trace(uuid.uuid4())

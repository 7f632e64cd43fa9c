"""AgentClient: the bus as one agent sees it, on every transport."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bus import AgentClient, Bus, InvalidArgument, InvalidName, Message, MessageType, Priority
from bus.errors import NotSubscribed, UnknownAgent, UnknownChannel

WAIT = 5.0


def received(client: AgentClient, channel: str | None = None) -> Message:
    message = client.receive(channel=channel, timeout=WAIT)
    assert message is not None, f"{client.name} received nothing in {WAIT} s"
    return message


def test_an_agent_is_registered_and_subscribed_to_its_channels(bus: Bus) -> None:
    alice = bus.agent("alice", channels=["#engineering", "#design"])
    assert alice.name == "alice"
    assert "alice" in bus.agents()
    assert alice.subscriptions() == ["#all-hands", "#design", "#engineering"]


def test_asking_for_an_agent_again_keeps_it_and_adds_channels(bus: Bus) -> None:
    bus.agent("alice", channels=["#engineering"])
    again = bus.agent("alice", channels=["#product"])
    assert bus.agents().count("alice") == 1
    assert again.subscriptions() == ["#all-hands", "#engineering", "#product"]


def test_an_agent_with_an_unknown_channel_is_not_registered(bus: Bus) -> None:
    with pytest.raises(UnknownChannel):
        bus.agent("alice", channels=["#nope"])
    assert "alice" not in bus.agents()


def test_a_client_refuses_an_invalid_agent_name(bus: Bus) -> None:
    with pytest.raises(InvalidName):
        AgentClient(bus, "not a name")


def test_what_an_agent_publishes_carries_it_as_sender(bus: Bus) -> None:
    alice = bus.agent("alice", channels=["#engineering"])
    bob = bus.agent("bob", channels=["#engineering"])
    sent = alice.publish("#engineering", "build is green", priority=Priority.HIGH)
    got = received(bob)
    assert (got.id, got.sender, got.channel, got.seq) == (sent.id, "alice", "#engineering", 1)
    assert got.priority is Priority.HIGH
    assert got.type is MessageType.ANNOUNCEMENT


def test_a_direct_message_reaches_its_recipient_from_the_agent(bus: Bus) -> None:
    alice = bus.agent("alice")
    bob = bus.agent("bob")
    alice.send("bob", "got a minute?")
    got = received(bob)
    assert (got.sender, got.recipient, got.type) == ("alice", "bob", MessageType.QUESTION)
    assert got.is_direct


@pytest.mark.parametrize("operation", ["publish", "send", "reply"])
def test_an_agent_cannot_send_as_someone_else(bus: Bus, operation: str) -> None:
    alice = bus.agent("alice", channels=["#engineering"])
    bus.agent("bob")
    original = Message(recipient="alice", sender="bob", content="hi")
    target: dict[str, Any] = {
        "publish": "#engineering",
        "send": "bob",
        "reply": original,
    }
    with pytest.raises(InvalidArgument, match="sender"):
        getattr(alice, operation)(target[operation], "spoofed", sender="mallory")
    assert bus.history("#engineering") == []
    assert bus.receive("bob", timeout=0) is None


def test_a_reply_answers_the_sender_in_the_same_conversation(bus: Bus) -> None:
    alice = bus.agent("alice")
    bob = bus.agent("bob")
    question = alice.send("bob", "ship it?", type=MessageType.REVIEW_REQUEST, priority="urgent")
    asked = received(bob)
    bob.reply(asked, "looks good")
    answer = received(alice)
    assert (answer.sender, answer.recipient) == ("bob", "alice")
    assert answer.correlation_id == question.id
    assert answer.type is MessageType.REVIEW_REQUEST
    assert answer.priority is Priority.URGENT


def test_a_reply_goes_to_reply_to_and_keeps_the_conversation_id(bus: Bus) -> None:
    alice = bus.agent("alice")
    bob = bus.agent("bob")
    carol = bus.agent("carol")
    alice.send("bob", "who reviews?", reply_to="carol", correlation_id=None)
    asked = received(bob)
    bob.reply(asked, "you do", type=MessageType.DELEGATION)
    forwarded = received(carol)
    assert forwarded.correlation_id == asked.id
    assert forwarded.type is MessageType.DELEGATION
    carol.reply(forwarded, "on it", type="approval")
    done = received(bob)
    assert done.correlation_id == asked.id  # the thread keeps its first id
    assert done.type is MessageType.APPROVAL
    assert alice.receive(timeout=0) is None


def test_replying_to_an_unregistered_sender_fails(bus: Bus) -> None:
    bob = bus.agent("bob")
    stranger = Message(recipient="bob", sender="ghost", content="boo")
    with pytest.raises(UnknownAgent):
        bob.reply(stranger, "who are you?")


def test_subscribing_and_unsubscribing_change_what_an_agent_receives(bus: Bus) -> None:
    alice = bus.agent("alice")
    bob = bus.agent("bob")
    assert bob.subscribe("#product") is True
    assert bob.subscribe("#product") is False
    alice.publish("#product", "v2 roadmap")
    assert received(bob, "#product").content == "v2 roadmap"
    assert bob.unsubscribe("#product") is True
    assert bob.unsubscribe("#product") is False
    assert "#product" not in bob.subscriptions()
    alice.publish("#product", "v3 roadmap")
    assert bob.receive(timeout=0.5) is None
    with pytest.raises(NotSubscribed):
        bob.receive("#product", timeout=0)


def test_an_agent_cannot_leave_a_broadcast_channel(bus: Bus) -> None:
    alice = bus.agent("alice")
    with pytest.raises(InvalidArgument, match="broadcast"):
        alice.unsubscribe("#all-hands")


def test_receive_can_read_one_channel_only(bus: Bus) -> None:
    alice = bus.agent("alice")
    bob = bus.agent("bob", channels=["#engineering", "#design"])
    alice.publish("#design", "new palette")
    alice.publish("#engineering", "deploy at 5")
    assert received(bob, "#engineering").content == "deploy at 5"
    assert received(bob).content == "new palette"


def test_history_through_an_agent_filters_like_the_bus(bus: Bus) -> None:
    alice = bus.agent("alice")
    for number in range(1, 5):
        alice.publish("#watercooler", f"note {number}")
    assert [m.content for m in alice.history("#watercooler", limit=2)] == ["note 3", "note 4"]
    assert [m.seq for m in alice.history("#watercooler", after=3)] == [4]
    assert alice.history("#watercooler") == bus.history("#watercooler")


def test_a_request_returns_the_reply_of_the_agent_asked(bus: Bus) -> None:
    alice = bus.agent("alice")
    bob = bus.agent("bob")

    def answer() -> None:
        asked = bob.receive(timeout=WAIT)
        assert asked is not None
        bob.reply(asked, f"pong to {asked.sender}")

    responder = threading.Thread(target=answer)
    responder.start()
    try:
        reply = alice.request("bob", "ping", timeout=WAIT)
    finally:
        responder.join(WAIT)
    assert (reply.sender, reply.content) == ("bob", "pong to alice")
    with pytest.raises(InvalidArgument, match="sender"):
        alice.request("bob", "ping", sender="bob")  # type: ignore[call-arg]


def test_an_agent_reads_its_own_direct_history(bus: Bus) -> None:
    alice = bus.agent("alice")
    bob = bus.agent("bob")
    alice.send("bob", "first")
    alice.send("bob", "second")
    assert [m.content for m in bob.direct_history()] == ["first", "second"]
    assert [m.seq for m in bob.direct_history(limit=1)] == [2]
    assert alice.direct_history() == []

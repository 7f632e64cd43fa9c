"""A bus with ``BUS_AUTH=required`` on memory, Redis and RabbitMQ: what the API refuses, and what
pull receive and history refuse when a store or broker writer goes around the API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import redis

from bus import Bus
from bus.auth.signing import sign
from bus.channels import Stream
from bus.deadletters.operations import list_dead_letters
from bus.errors import ConfigurationError, PermissionDenied, RateLimited
from bus.message import Message
from bus.settings import BusSettings
from bus.store.redis.key_names import Keys
from tests.auth.deploy import Deployment, inject, received
from tests.brokers import REDIS_URL


@pytest.fixture
def deployment(settings: BusSettings, tmp_path: Path) -> Iterator[Deployment]:
    """Auth required in the transport's fresh namespace; ops is an operator."""
    deployment = Deployment(settings, tmp_path)
    deployment.issue("ops", "operator")
    for name in ("alice", "bob", "mallory"):
        deployment.issue(name)
    try:
        yield deployment
    finally:
        deployment.close()


@pytest.fixture
def ops(deployment: Deployment) -> Bus:
    bus = deployment.bus_as("ops")
    for name, channels in (("alice", ["#engineering"]), ("bob", ["#engineering"])):
        bus.register_agent(name, channels=channels)
    bus.register_agent("mallory")
    return bus


def _engineering(bus: Bus, content: str, sender: str) -> Message:
    return bus.publish("#engineering", content, sender=sender)


def test_auth_required_without_credentials_is_a_configuration_error(
    deployment: Deployment,
) -> None:
    with pytest.raises(ConfigurationError):
        Bus(deployment.settings)


def test_publishing_as_another_agent_is_refused_naming_identity_action_and_channel(
    deployment: Deployment, ops: Bus
) -> None:
    mallory = deployment.bus_as("mallory")
    with pytest.raises(PermissionDenied) as refused:
        mallory.publish("#engineering", "ship it now", sender="alice")
    assert refused.value.context["identity"] == "mallory"
    assert refused.value.context["action"] == "publish"
    assert refused.value.context["channel"] == "#engineering"
    with pytest.raises(PermissionDenied):
        mallory.send("bob", "psst", sender="alice")
    assert ops.get_channel("#engineering").last_seq == 0  # nothing was stored
    assert ops.receive("bob", timeout=0.2) is None  # nor delivered


def test_a_message_is_signed_by_its_sender_and_verified_by_the_receiver(
    deployment: Deployment, ops: Bus
) -> None:
    alice, bob = deployment.bus_as("alice"), deployment.bus_as("bob")
    sent = _engineering(alice, "hello", "alice")
    got = bob.receive("bob", timeout=10)
    assert got is not None
    assert got.id == sent.id
    assert got.sender == "alice"
    assert got.signature is not None
    assert got.signature.key_id == deployment.credentials["alice"].identity.key_id


def test_forgeries_in_the_log_and_the_queue_are_dead_lettered_and_the_next_messages_arrive_in_order(
    deployment: Deployment, ops: Bus
) -> None:
    alice, bob = deployment.bus_as("alice"), deployment.bus_as("bob")
    mallory_key = deployment.credentials["mallory"]
    _engineering(alice, "one", "alice")
    # Written into the log and the queue directly, by a process with store and broker access.
    inject(
        ops, Message(channel="#engineering", sender="alice", content="unsigned"), deliver_to="bob"
    )
    forged = sign(
        Message(channel="#engineering", sender="mallory", content="as alice"), mallory_key
    )
    inject(ops, forged.model_copy(update={"sender": "alice"}), deliver_to="bob")
    _engineering(alice, "two", "alice")
    _engineering(alice, "three", "alice")

    contents = [m.content for m in received(bob, "bob", 3)]
    assert contents == ["one", "two", "three"]
    letters = list_dead_letters(ops)
    assert [(letter.agent, letter.seq) for letter in letters] == [("bob", 2), ("bob", 3)]
    assert "(unsigned)" in letters[0].error
    assert "(wrong_sender)" in letters[1].error
    assert bob.receive("bob", timeout=0.2) is None


def test_a_direct_message_forged_into_an_inbox_is_refused(deployment: Deployment, ops: Bus) -> None:
    alice, bob = deployment.bus_as("alice"), deployment.bus_as("bob")
    inject(ops, Message(recipient="bob", sender="alice", content="wire me money"), deliver_to="bob")
    alice.send("bob", "genuine", sender="alice")
    got = bob.receive("bob", timeout=10)
    assert got is not None
    assert got.content == "genuine"
    assert [letter.seq for letter in list_dead_letters(ops)] == [1]


def test_a_stored_message_changed_after_signing_is_refused(
    deployment: Deployment, ops: Bus, transport: str
) -> None:
    alice, bob = deployment.bus_as("alice"), deployment.bus_as("bob")
    original = _engineering(alice, "pay 10", "alice")
    tampered = sign(
        Message(channel="#engineering", sender="alice", content="pay 10"),
        deployment.credentials["alice"],
    )
    inject(ops, tampered.model_copy(update={"content": "pay 10000"}))
    if transport != "memory":  # and the genuine entry itself, changed in place in Redis
        client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        key = Keys(deployment.settings.namespace).log(Stream.of_channel("#engineering").id)
        entry = cast(str, client.lindex(key, 0))
        stamp, _, body = entry.partition(":")
        client.lset(key, 0, f"{stamp}:{body.replace('pay 10', 'pay 99')}")
    kept = [m.content for m in bob.history("#engineering")]
    assert "pay 10000" not in kept
    assert "pay 99" not in kept
    assert kept == ([] if transport != "memory" else [original.content])


def test_publish_is_allowed_and_refused_as_the_policy_says(
    deployment: Deployment, ops: Bus
) -> None:
    alice, bob = deployment.bus_as("alice"), deployment.bus_as("bob")
    with pytest.raises(PermissionDenied) as refused:
        alice.publish("#all-hands", "I am in charge", sender="alice")
    context = refused.value.context
    assert (context["identity"], context["action"], context["channel"]) == (
        "alice",
        "publish",
        "#all-hands",
    )
    ops.publish("#all-hands", "from the operators", sender="ops")
    deployment.change(lambda policy: policy.grant("alice", "publish", "#all-hands"))
    time.sleep(deployment.settings.auth_refresh_seconds + 0.1)
    alice.publish("#all-hands", "now I may", sender="alice")
    deployment.change(lambda policy: policy.deny("bob", "publish", "#engineering"))
    time.sleep(deployment.settings.auth_refresh_seconds + 0.1)
    with pytest.raises(PermissionDenied):
        bob.publish("#engineering", "muted", sender="bob")
    assert [m.content for m in ops.history("#all-hands")] == ["from the operators", "now I may"]


def test_subscribe_and_history_are_allowed_and_refused_as_the_policy_says(
    deployment: Deployment, ops: Bus
) -> None:
    ops.create_channel("#finance")
    ops.publish("#finance", "q3 numbers", sender="ops")
    deployment.change(
        lambda policy: (
            policy.grant("role:operator", "subscribe", "#finance")
            .deny("mallory", "subscribe", "#finance")
            .grant("alice", "subscribe", "#finance")
        )
    )
    time.sleep(deployment.settings.auth_refresh_seconds + 0.1)
    alice, mallory = deployment.bus_as("alice"), deployment.bus_as("mallory")
    assert alice.subscribe("alice", "#finance") is True
    assert [m.content for m in alice.history("#finance")] == ["q3 numbers"]
    with pytest.raises(PermissionDenied) as refused:
        mallory.subscribe("mallory", "#finance")
    assert refused.value.context["action"] == "subscribe"
    assert refused.value.context["channel"] == "#finance"
    with pytest.raises(PermissionDenied):
        mallory.history("#finance")
    with pytest.raises(PermissionDenied):  # nor through an agent of its choosing
        mallory.subscribe("alice", "#engineering")
    assert "#finance" not in ops.subscriptions("mallory")


def test_direct_message_history_is_for_its_recipient_its_sender_and_operators(
    deployment: Deployment, ops: Bus
) -> None:
    alice, bob, mallory = (deployment.bus_as(n) for n in ("alice", "bob", "mallory"))
    alice.send("bob", "the password is swordfish", sender="alice")
    mallory.send("bob", "hi bob", sender="mallory")
    assert [m.content for m in bob.direct_history("bob")] == ["the password is swordfish", "hi bob"]
    assert [m.content for m in ops.direct_history("bob")] == ["the password is swordfish", "hi bob"]
    # A sender reads what it sent to another's inbox, and nothing else there.
    assert [m.content for m in alice.direct_history("bob")] == ["the password is swordfish"]
    assert [m.content for m in mallory.direct_history("bob")] == ["hi bob"]
    with pytest.raises(PermissionDenied):
        mallory.receive("bob", timeout=0)
    assert bob.receive("bob", timeout=10) is not None


def test_a_revoked_agents_messages_are_refused_within_seconds(
    deployment: Deployment, ops: Bus
) -> None:
    alice, bob = deployment.bus_as("alice"), deployment.bus_as("bob")
    _engineering(alice, "before", "alice")
    assert [m.content for m in received(bob, "bob", 1)] == ["before"]
    deployment.revoke("alice")
    time.sleep(deployment.settings.auth_refresh_seconds + 0.1)
    # Its own bus stops signing, and every refusal it gets says why: revoked.
    for refused_call in (
        lambda: _engineering(alice, "after", "alice"),
        lambda: alice.send("bob", "after", sender="alice"),
        lambda: alice.receive("alice", timeout=0),
        lambda: alice.history("#engineering"),
        lambda: alice.direct_history("bob"),
    ):
        with pytest.raises(PermissionDenied) as refused:
            refused_call()
        assert "revoked" in str(refused.value)
        assert refused.value.context["reason"] == "revoked"
    # A process holding the revoked key signs anyway and writes into the log and queue.
    late = sign(
        Message(channel="#engineering", sender="alice", content="after"),
        deployment.credentials["alice"],
    )
    inject(ops, late, deliver_to="bob")
    _engineering(ops, "genuine", "ops")
    assert [m.content for m in received(bob, "bob", 1)] == ["genuine"]
    assert "(revoked)" in list_dead_letters(ops)[-1].error


def test_a_rate_limited_identity_gets_rate_limited_and_others_are_unaffected(
    deployment: Deployment, ops: Bus
) -> None:
    alice = deployment.bus_as("alice", publish_rate=0.5, publish_burst=3)
    bob = deployment.bus_as("bob", publish_rate=0.5, publish_burst=3)
    for index in range(3):
        _engineering(alice, f"a{index}", "alice")
    with pytest.raises(RateLimited) as limited:
        _engineering(alice, "one too many", "alice")
    assert limited.value.context["identity"] == "alice"
    assert limited.value.context["retry_after"] > 0
    for index in range(3):
        _engineering(bob, f"b{index}", "bob")
    assert ops.get_channel("#engineering").last_seq == 6


def test_a_reply_forged_into_a_reply_box_is_skipped_and_the_genuine_reply_returned(
    deployment: Deployment, ops: Bus
) -> None:
    alice, bob = deployment.bus_as("alice"), deployment.bus_as("bob")
    mallory_key = deployment.credentials["mallory"]
    answers: list[Message] = []
    asking = threading.Thread(
        target=lambda: answers.append(alice.request("bob", "2+2?", sender="alice", timeout=20))
    )
    asking.start()
    question = bob.receive("bob", timeout=10)
    assert question is not None
    cid = str(question.correlation_id)
    # A store writer puts replies in the box first: unsigned, and signed by mallory as bob.
    for forged in (
        Message(recipient="alice", sender="bob", content="5", correlation_id=cid),
        sign(
            Message(recipient="alice", sender="mallory", content="6", correlation_id=cid),
            mallory_key,
        ).model_copy(update={"sender": "bob"}),
    ):
        assert ops.store.replies.put_reply(cid, "bob", forged.model_dump_json()).put
    bob.send("alice", "4", sender="bob", correlation_id=cid)
    asking.join(20)
    assert [answer.content for answer in answers] == ["4"]


def test_only_its_sender_and_who_may_read_it_get_a_messages_status(
    deployment: Deployment, ops: Bus
) -> None:
    alice = deployment.bus_as("alice")
    sent = alice.send("bob", "between us", sender="alice")
    assert alice.status(sent.id).members["bob"].state.value == "queued"  # its sender
    assert deployment.bus_as("bob").status(sent.id).recipient == "bob"  # its reader
    assert ops.status(sent.id).seq == sent.seq  # an operator
    with pytest.raises(PermissionDenied) as refused:
        deployment.bus_as("mallory").status(sent.id)  # may not read bob's inbox
    assert refused.value.context["identity"] == "mallory"

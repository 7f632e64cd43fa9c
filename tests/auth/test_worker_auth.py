"""Workers with ``BUS_AUTH=required``: an embedded worker on memory, a real ``celery -A bus
worker`` on Redis and RabbitMQ. The worker acts as an operator identity (``host``) and signs
each hosted agent's messages with that agent's key (``BUS_CREDENTIALS_DIR``)."""

from __future__ import annotations

import time

from bus.auth.signing import sign
from bus.broker.wire import REPLAY_TASK, Delivery
from bus.message import Message
from bus.receipts import DeliveryState, receipt_of
from tests.auth.deploy import inject
from tests.auth.hosting import AGENTS, Hosted, done_is
from tests.worker.harness import wait_for


def test_forged_messages_and_replays_never_reach_a_handler_and_the_agent_moves_on_in_order(
    hosted: Hosted,
) -> None:
    tester, ops = hosted.tester, hosted.ops
    mallory = hosted.deployment.credentials["mallory"]
    tester_key = hosted.deployment.credentials["tester"]
    tester.publish("#engineering", "one", sender="tester")
    unsigned = Message(channel="#engineering", sender="tester", content="unsigned")
    inject(ops, unsigned, deliver_to="rec-a")
    forged = sign(Message(channel="#engineering", sender="mallory", content="x"), mallory)
    inject(ops, forged.model_copy(update={"sender": "tester"}), deliver_to="rec-a")
    genuine = sign(Message(channel="#engineering", sender="tester", content="pay 10"), tester_key)
    inject(ops, genuine.model_copy(update={"content": "pay 10000"}), deliver_to="rec-a")
    # A replay carries its message: one injected into rec-a's queue with a forged one, and one
    # with a genuine message addressed to another agent's inbox.
    fake = Message(channel="#engineering", sender="tester", content="replayed", seq=2)
    elsewhere = tester.send("rec-b", "for rec-b only", sender="tester")
    for message in (fake, elsewhere):
        delivery = Delivery(
            "rec-a", None, message.seq or 0, str(message.id), message.model_dump(mode="json")
        )
        ops.broker.publish([delivery], REPLAY_TASK, direct=True)
    tester.publish("#engineering", "five", sender="tester")
    tester.publish("#engineering", "six", sender="tester")

    for agent in AGENTS:
        wait_for(done_is(hosted, agent, [1, 5, 6]), 30, f"{agent}'s handlers")
    wait_for(lambda: len(hosted.letters()) >= 8, 30, "the dead letters")
    assert sorted(set(hosted.started("rec-a"))) == [1, 5, 6]  # nothing refused was started
    refused = {
        (letter.agent, letter.seq, letter.error.split(")")[0]) for letter in hosted.letters()
    }
    assert {
        ("rec-a", 2, "refused (unsigned"),
        ("rec-a", 3, "refused (wrong_sender"),
        ("rec-b", 2, "refused (unsigned"),
        ("rec-b", 3, "refused (wrong_sender"),
        ("rec-a", 4, "refused (bad_signature"),
        ("rec-b", 4, "refused (bad_signature"),
        ("rec-a", 1, "refused (wrong_stream"),
    } <= refused
    replayed = [letter for letter in hosted.letters() if letter.message.content == "replayed"]
    assert [(letter.agent, letter.seq) for letter in replayed] == [("rec-a", 2)]
    assert "(unsigned)" in replayed[0].error


def test_a_running_worker_refuses_a_revoked_agents_new_messages_within_seconds(
    hosted: Hosted,
) -> None:
    tester, ops, deployment = hosted.tester, hosted.ops, hosted.deployment
    tester.publish("#engineering", "before", sender="tester")
    wait_for(lambda: hosted.done("rec-a") == [1], 30, "the first message")
    deployment.revoke("tester")
    time.sleep(deployment.settings.auth_refresh_seconds + 0.5)
    late = sign(
        Message(channel="#engineering", sender="tester", content="after"),
        deployment.credentials["tester"],
    )
    inject(ops, late, deliver_to="rec-a")
    ops.publish("#engineering", "genuine", sender="ops")
    wait_for(lambda: hosted.done("rec-a") == [1, 3], 30, "the genuine message after it")
    assert 2 not in hosted.started("rec-a")
    wait_for(
        lambda: any(d.seq == 2 and "(revoked)" in d.error for d in hosted.letters()),
        30,
        "the dead letter of the revoked key's message",
    )


def test_a_request_to_a_hosted_agent_gets_its_signed_reply(hosted: Hosted) -> None:
    reply = hosted.tester.request("rec-a", "ping", sender="tester", timeout=20)
    assert reply.sender == "rec-a"
    assert reply.content == "rec-a got ping"
    assert reply.signature is not None
    assert reply.signature.key_id == hosted.deployment.credentials["rec-a"].identity.key_id


def test_a_sender_gets_receipts_signed_by_the_worker_that_handled(hosted: Hosted) -> None:
    tester, ops = hosted.tester, hosted.ops
    ops.register_agent("tester", receipts=True)
    posted = tester.publish("#engineering", "track me", sender="tester")
    got = {}
    for _ in AGENTS:
        message = tester.receive("tester", timeout=20)  # its guard verifies the signature
        assert message is not None
        receipt = receipt_of(message)
        assert receipt is not None
        assert receipt.message_id == posted.id
        assert message.sender == "host"
        assert message.signature is not None
        assert message.signature.key_id == hosted.deployment.credentials["host"].identity.key_id
        got[receipt.member] = receipt.state
    assert got == dict.fromkeys(AGENTS, DeliveryState.HANDLED)

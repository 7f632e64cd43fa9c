"""A pull member's receipts with ``BUS_AUTH=required`` (issue 17), on every transport: the
process that hands a message over signs the receipt as its own identity, and the consuming
sender's guard verifies it like any message; a message the reader's guard refuses pushes a
``refused`` receipt with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bus import Bus, DeliveryState, Retention
from bus.message import Message
from bus.receipts import receipt_of
from bus.settings import BusSettings
from tests.auth.deploy import Deployment, deployed, inject


@pytest.fixture
def deployment(settings: BusSettings, tmp_path: Path) -> Iterator[Deployment]:
    """Auth required in the transport's namespace: ops (operator), alice and bob."""
    with deployed(settings, tmp_path) as deployment:
        yield deployment


def test_a_pull_members_receipts_are_signed_by_the_receiving_process(
    deployment: Deployment,
) -> None:
    ops = deployment.bus_as("ops")
    ops.register_agent("alice", receipts=True)
    ops.register_agent("bob", channels=["#engineering"])
    alice: Bus = deployment.bus_as("alice")
    bob: Bus = deployment.bus_as("bob")
    posted = alice.publish("#engineering", "genuine", sender="alice")
    unsigned = Message(channel="#engineering", sender="alice", content="not signed")
    inject(ops, unsigned, deliver_to="bob")

    got = bob.receive("bob", timeout=10)
    assert got is not None
    assert got.id == posted.id
    assert bob.receive("bob", timeout=0.5) is None  # the unsigned one is refused, unseen

    states = {}
    for _ in range(2):
        message = alice.receive("alice", timeout=10)  # alice's guard verifies each
        assert message is not None
        receipt = receipt_of(message)
        assert receipt is not None
        assert message.sender == "bob"
        assert message.signature is not None
        assert message.signature.key_id == deployment.credentials["bob"].identity.key_id
        assert receipt.member == "bob"
        states[receipt.message_id] = (receipt.state, receipt.error or "")
    assert states[posted.id] == (DeliveryState.HANDLED, "")
    state, error = states[unsigned.id]
    assert state is DeliveryState.REFUSED
    assert error.startswith("refused (unsigned)")
    assert alice.receive("alice", timeout=0.2) is None


def test_a_skipped_receipt_is_signed_by_the_process_that_found_the_skip(
    deployment: Deployment,
) -> None:
    ops = deployment.bus_as("ops")
    ops.create_channel("#tiny", retention=Retention(max_messages=2))
    ops.register_agent("alice", receipts=True)
    ops.register_agent("bob", channels=["#tiny"])
    alice: Bus = deployment.bus_as("alice")
    bob: Bus = deployment.bus_as("bob")
    posted = [alice.publish("#tiny", f"m{n}", sender="alice") for n in range(1, 5)]
    got = bob.receive("bob", channel="#tiny", timeout=10)  # m3: m1 and m2 were trimmed
    assert got is not None
    assert got.id == posted[2].id
    receipts = {}
    for _ in range(2):  # m3's handed over, then the skip's (noted once m3 was taken)
        message = alice.receive("alice", timeout=10)  # alice's guard verifies each
        assert message is not None
        assert message.sender == "bob"
        assert message.signature is not None
        assert message.signature.key_id == deployment.credentials["bob"].identity.key_id
        receipt = receipt_of(message)
        assert receipt is not None
        receipts[receipt.state] = receipt
    skipped = receipts[DeliveryState.SKIPPED]
    assert (skipped.member, skipped.messages, skipped.message_id) == ("bob", 2, posted[0].id)
    assert skipped.last_seq == posted[1].seq
    assert receipts[DeliveryState.HANDLED].message_id == posted[2].id

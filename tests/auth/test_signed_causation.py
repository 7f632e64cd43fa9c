"""The causation fields are signed: a forged or altered ``traceparent`` (or cause, or hop count)
in a signed message is refused like any tampering, by :func:`verify` and by a receiving bus."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bus import Bus
from bus.auth.certificates import Credentials
from bus.auth.signing import sign, verify
from bus.auth.trust import Trust
from bus.deadletters.operations import list_dead_letters
from bus.errors import AuthenticationFailed
from bus.message import Message
from bus.settings import BusSettings
from bus.store import channel_stream
from tests.auth.deploy import Deployment, deployed, inject

STREAM = channel_stream("#engineering")
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
OTHER_PARENT = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
OTHER_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"


def _caused(**fields: Any) -> Message:
    return Message(
        channel="#engineering",
        sender="alice",
        content="on it",
        causation_id=uuid.UUID(int=7),
        hops=3,
        traceparent=TRACE,
        tracestate="bus=1",
        **fields,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"traceparent": OTHER_PARENT},
        {"traceparent": OTHER_TRACE},
        {"traceparent": None},
        {"tracestate": "bus=2"},
        {"causation_id": uuid.UUID(int=8)},
        {"causation_id": None},
        {"hops": 0},
    ],
    ids=["parent", "trace", "dropped", "tracestate", "cause", "no-cause", "hops"],
)
def test_a_changed_causation_field_breaks_the_signature(
    alice: Credentials, trust: Trust, change: dict[str, Any]
) -> None:
    signed = sign(_caused(), alice)
    assert verify(signed, STREAM, trust).name == "alice"
    with pytest.raises(AuthenticationFailed) as refused:
        verify(signed.model_copy(update=change), STREAM, trust)
    assert refused.value.reason == "bad_signature"


def test_a_trace_context_added_to_a_message_signed_without_one_is_refused(
    alice: Credentials, trust: Trust
) -> None:
    signed = sign(Message(channel="#engineering", sender="alice", content="plain"), alice)
    forged = signed.model_copy(update={"traceparent": TRACE})
    with pytest.raises(AuthenticationFailed) as refused:
        verify(forged, STREAM, trust)
    assert refused.value.reason == "bad_signature"


@pytest.fixture
def deployment(settings: BusSettings, tmp_path: Path) -> Iterator[Deployment]:
    """Auth required in the transport's namespace: ops (operator), alice and bob."""
    with deployed(settings, tmp_path) as deployment:
        yield deployment


def test_a_message_whose_traceparent_was_altered_in_the_log_is_dead_lettered(
    deployment: Deployment,
) -> None:
    ops = deployment.bus_as("ops")
    ops.register_agent("bob", channels=["#engineering"])
    ops.register_agent("alice")
    alice: Bus = deployment.bus_as("alice")
    bob: Bus = deployment.bus_as("bob")
    genuine = sign(_caused(), deployment.credentials["alice"])
    # A store writer re-points the trace: the message would join a trace of its choosing.
    inject(ops, genuine.model_copy(update={"traceparent": OTHER_TRACE}), deliver_to="bob")
    sent = alice.publish("#engineering", "next", sender="alice", traceparent=TRACE)

    got = bob.receive("bob", timeout=10)
    assert got is not None
    assert (got.id, got.traceparent) == (sent.id, TRACE)
    (letter,) = list_dead_letters(ops)
    assert (letter.agent, letter.seq) == ("bob", 1)
    assert "(bad_signature)" in letter.error

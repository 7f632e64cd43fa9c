"""What receive hands over when something foreign or broken is in the way: a foreign message in
an agent's queue is set aside with its reason logged and loses nothing; content that cannot be
encoded is refused as an ``InvalidMessage`` before anything is stored."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator

import pytest

from bus import Bus
from bus.errors import InvalidMessage
from tests.brokers import require, settings_for


@pytest.fixture(params=["redis", "amqp"])
def bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    require(request.param)
    started = Bus(settings_for(request.param)).start()
    try:
        yield started
    finally:
        started.destroy()


def _put_raw(bus: Bus, agent: str, body: bytes, content_type: str) -> None:
    """Publish bytes no bus process would send straight into ``agent``'s queue."""
    queue = bus.topology.agent_queue(agent)
    with bus.broker.connection() as connection:
        producer = connection.Producer()
        producer.publish(
            body,
            exchange=bus.topology.direct_exchange,
            routing_key=queue.routing_key,
            content_type=content_type,
            content_encoding="binary",
            declare=[queue],
        )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (pickle.dumps({"task": "evil"}), "application/x-python-serialize"),
        (b"\xff\xfe not json", "application/json"),
        (b'{"hello": "not a delivery"}', "application/json"),
    ],
    ids=["pickle", "undecodable", "not a delivery"],
)
def test_a_foreign_message_in_the_queue_is_set_aside_and_loses_nothing(
    bus: Bus, body: bytes, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    bus.register_agent("bob", channels=["#engineering"])
    assert bus.receive("bob", timeout=0.2) is None  # the inbox is open and read dry
    _put_raw(bus, "bob", body, content_type)
    sent = [bus.publish("#engineering", f"m{i}", sender="alice").seq for i in range(3)]
    with caplog.at_level(logging.WARNING, logger="bus.reading.inbox"):
        got = [bus.receive("bob", timeout=5) for _ in sent]
    assert [m.seq for m in got if m is not None] == sent
    assert bus.receive("bob", timeout=0.3) is None
    assert any(
        "foreign message" in r.getMessage() or "not a bus delivery" in r.getMessage()
        for r in caplog.records
    ), "the reason is logged"


def test_content_with_a_lone_surrogate_is_an_invalid_message_and_is_not_stored() -> None:
    with Bus(settings_for("memory")) as bus:
        with pytest.raises(InvalidMessage) as caught:
            bus.publish("#engineering", "half a pair: \ud800", sender="alice")
        assert caught.value.errors[0]["field"] == "(message)"
        assert bus.get_channel("#engineering").last_seq == 0

"""Retention keeps memory bounded: by count and by age, from the bus-wide default or a channel's
own; history, the store's retained count and the agents' broker queues all stay within it. Each
test runs on memory://, Redis and RabbitMQ."""

from __future__ import annotations

import time

import pytest

from bus import Bus, Retention
from bus.settings import BusSettings
from bus.store import channel_stream, direct_stream
from tests.brokers import settings_for
from tests.helpers.cases import Cases
from tests.helpers.probe import queue_depth, receive_all

KEEP = 5


@pytest.fixture
def settings(transport: str) -> BusSettings:
    """A bus-wide default of KEEP messages; no default channels to keep it small."""
    return settings_for(transport, retention_max_messages=KEEP, default_channels=())


def test_count_retention_default_and_per_channel(bus: Bus) -> None:
    bus.create_channel("#default")
    bus.create_channel("#three", retention=Retention(max_messages=3))
    bus.create_channel("#many", retention=Retention(max_messages=100))
    assert bus.get_channel("#default").spec.retention.max_messages == KEEP
    bus.register_agent("live", channels=["#default", "#three", "#many"])
    bus.register_agent("late", channels=["#default", "#three", "#many"])
    total = 5 * KEEP
    live: list[int] = []
    for index in range(total):
        for channel in ("#default", "#three", "#many"):
            bus.publish(channel, f"{channel} {index}", sender="lead")
        bus.send("live", f"dm {index}", sender="lead")
        # An agent that keeps up receives everything, whatever is trimmed behind it.
        live += [m.seq or 0 for m in receive_all(bus, "live", channel="#default", wait=0)]

    assert live == list(range(1, total + 1))
    cases = Cases()
    for channel, keep in (("#default", KEEP), ("#three", 3), ("#many", 100)):
        with cases.case(f"{channel} keeping {keep}"):
            kept = min(keep, total)
            info = bus.get_channel(channel)
            assert info.last_seq == total
            assert info.retained == kept == bus.store.log.retained(channel_stream(channel))
            expected = list(range(total - kept + 1, total + 1))
            assert [m.seq for m in bus.history(channel)] == expected
            # One that comes late gets what is still retained, in order, and nothing trimmed.
            late = receive_all(bus, "late", channel=channel, wait=0.1)
            assert [m.seq for m in late] == expected
    cases.verify()
    # Direct-message inboxes keep the bus-wide default too.
    assert bus.store.log.retained(direct_stream("live")) == KEEP
    assert bus.store.log.head(direct_stream("live")) == total

    # What "live" did not read as it came: only what is retained, each stream in order.
    rest = receive_all(bus, "live", wait=0.1)
    by_stream: dict[str | None, list[int]] = {}
    for message in rest:
        by_stream.setdefault(message.channel, []).append(message.seq or 0)
    assert by_stream == {
        "#three": list(range(total - 2, total + 1)),
        "#many": list(range(1, total + 1)),
        None: list(range(total - KEEP + 1, total + 1)),
    }
    assert receive_all(bus, "late", wait=0.1) == []
    # Agents that received everything leave nothing queued at the broker.
    assert queue_depth(bus, "live") == 0
    assert queue_depth(bus, "late") == 0


@pytest.mark.slow
@pytest.mark.parametrize("where", ["default", "channel"])
def test_age_retention(transport: str, where: str) -> None:
    """Messages older than the retention age are trimmed on the next append and never shown by
    history, whether the age comes from the bus-wide default or from the channel."""
    age = 0.4
    if where == "default":
        settings = settings_for(transport, retention_max_age_seconds=age, default_channels=())
    else:
        settings = settings_for(transport, default_channels=())
    bus = Bus(settings).start()
    try:
        retention = None if where == "default" else Retention(max_age_seconds=age)
        bus.create_channel("#aging", retention=retention)
        bus.register_agent("reader", channels=["#aging"])
        for index in range(5):
            bus.publish("#aging", f"old {index}", sender="lead")
        assert len(bus.history("#aging")) == 5
        time.sleep(age + 0.2)
        # Too old for history even before anything trims them.
        assert bus.history("#aging") == []
        fresh = [bus.publish("#aging", f"new {index}", sender="lead") for index in range(2)]
        assert bus.store.log.retained(channel_stream("#aging")) == 2
        assert [m.id for m in bus.history("#aging")] == [m.id for m in fresh]
        # A reader that was away gets only what is retained, then nothing.
        got = receive_all(bus, "reader", wait=0.1)
        assert [m.seq for m in got] == [6, 7]
        assert queue_depth(bus, "reader") == 0
    finally:
        bus.destroy()

"""Coalesced deliveries (``BUS_COALESCE_DELIVERIES``): a backlog costs each recipient one
delivery per burst, and every message still reaches it once, in order."""

from __future__ import annotations

import threading

import pytest

from bus import Bus, Message
from bus.settings import BusSettings
from tests.contract.test_ordering import ARRIVES
from tests.helpers.probe import queue_depth, receive_all


@pytest.fixture
def settings(settings: BusSettings) -> BusSettings:
    """The transport's settings, with coalesced deliveries."""
    return settings.model_copy(update={"coalesce_deliveries": True})


def wait_for_depth(bus: Bus, agent: str, depth: int) -> int:
    """The agent's queue depth once it reached ``depth`` (memory:// publishes in-process, the
    brokers may take a moment to count)."""
    found = -1
    for _ in range(50):
        found = queue_depth(bus, agent)
        if found >= depth:
            break
        threading.Event().wait(0.02)
    return found


def test_a_burst_costs_each_member_one_delivery(bus: Bus) -> None:
    bus.create_channel("#eng")
    bus.register_agents({"ann": ["#eng"], "bob": ["#eng"]})
    sent = [bus.publish("#eng", f"m{index}", sender="boss") for index in range(30)]
    assert wait_for_depth(bus, "ann", 1) == 1
    assert queue_depth(bus, "bob") == 1
    for agent in ("ann", "bob"):
        got = receive_all(bus, agent)
        assert [m.seq for m in got] == [m.seq for m in sent], agent
    assert queue_depth(bus, "ann") == 0


def test_a_drained_reader_is_woken_by_the_next_message(bus: Bus) -> None:
    bus.create_channel("#eng")
    bus.register_agent("ann", channels=["#eng"])
    bus.publish("#eng", "first", sender="boss")
    assert receive_all(bus, "ann", wait=0.2)[0].content == "first"
    arrived: list[Message | None] = []
    waiting = threading.Thread(target=lambda: arrived.append(bus.receive("ann", timeout=ARRIVES)))
    waiting.start()
    bus.publish("#eng", "second", sender="boss")
    waiting.join(ARRIVES + 5)
    assert [m.content for m in arrived if m is not None] == ["second"]


def test_direct_messages_and_channels_coalesce_apart(bus: Bus) -> None:
    bus.create_channel("#eng")
    bus.register_agent("ann", channels=["#eng"])
    channel = [bus.publish("#eng", f"c{index}", sender="boss").seq for index in range(5)]
    direct = [bus.send("ann", f"d{index}", sender="boss").seq for index in range(5)]
    assert wait_for_depth(bus, "ann", 2) == 2  # one per stream
    got = receive_all(bus, "ann")
    assert [m.seq for m in got if m.channel == "#eng"] == channel
    assert [m.seq for m in got if m.channel is None] == direct

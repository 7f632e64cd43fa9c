"""Unregistering an agent, on every transport: its queue, memberships and positions go, a
direct message to it is refused, and nothing else changes (issue 21)."""

from __future__ import annotations

import asyncio

import pytest

from bus import AsyncBus, Bus, InvalidName, UnknownAgent


def test_an_unregistered_agent_is_gone_from_every_channel_and_cannot_be_sent_to(
    bus: Bus,
) -> None:
    bus.register_agent("temp", channels=["#engineering"])
    bus.register_agent("keeper", channels=["#engineering"])
    bus.publish("#engineering", "before", sender="keeper")
    bus.send("temp", "a direct message", sender="keeper")

    left = bus.unregister_agent("temp")

    assert left == ["#all-hands", "#engineering"]
    assert "temp" not in bus.agents()
    assert "temp" not in bus.get_channel("#engineering").members
    assert "temp" not in bus.get_channel("#all-hands").members
    with pytest.raises(UnknownAgent) as caught:
        bus.send("temp", "anyone?", sender="keeper")
    assert caught.value.agent == "temp"
    with pytest.raises(UnknownAgent):
        bus.receive("temp", timeout=0)
    with pytest.raises(UnknownAgent):
        bus.subscriptions("temp")
    # the others keep what they had: membership, history, their next message
    bus.publish("#engineering", "after", sender="cli")
    assert bus.get_channel("#engineering").members == {"keeper"}
    assert [m.content for m in bus.history("#engineering")] == ["before", "after"]
    assert [m.content for m in bus.direct_history("keeper")] == []


def test_an_agent_registered_again_starts_from_now_with_an_empty_queue(bus: Bus) -> None:
    bus.register_agent("temp", channels=["#engineering"])
    bus.publish("#engineering", "old news", sender="cli")
    bus.unregister_agent("temp")
    bus.publish("#engineering", "while away", sender="cli")

    bus.register_agent("temp", channels=["#engineering"])
    bus.publish("#engineering", "new", sender="cli")

    received = bus.receive("temp", timeout=5)
    assert received is not None
    assert received.content == "new"
    assert bus.receive("temp", timeout=0.2) is None


def test_unregistering_an_unknown_or_invalid_agent_is_refused_and_changes_nothing(
    bus: Bus,
) -> None:
    bus.register_agent("keeper", channels=["#engineering"])
    with pytest.raises(UnknownAgent):
        bus.unregister_agent("nobody")
    with pytest.raises(InvalidName):
        bus.unregister_agent("no body")
    bus.unregister_agent("keeper")
    with pytest.raises(UnknownAgent):
        bus.unregister_agent("keeper")
    assert bus.agents() == []


def test_the_async_bus_unregisters_too(bus: Bus) -> None:
    async def scenario() -> list[str]:
        abus = AsyncBus(bus)
        await abus.register_agent("temp", channels=["#design"])
        return await abus.unregister_agent("temp")

    assert asyncio.run(scenario()) == ["#all-hands", "#design"]
    assert bus.agents() == []

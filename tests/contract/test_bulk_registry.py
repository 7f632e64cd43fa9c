"""Registering many agents at once (:meth:`bus.Bus.register_agents`,
:meth:`bus.Bus.subscribe_many`) ends as one call per agent would: queues, bindings and
memberships that deliver, on memory://, Redis and RabbitMQ."""

from __future__ import annotations

import pytest

from bus import Bus, ChannelKind, InvalidName, UnknownAgent, UnknownChannel
from tests.helpers.probe import receive_all


def test_agents_registered_in_bulk_receive_what_their_channels_carry(bus: Bus) -> None:
    bus.create_channel("#news")
    bus.create_channel("#ops")
    bus.create_channel("#all", kind=ChannelKind.BROADCAST)
    bus.register_agents({"amy": ["#news", "#ops"], "bob": ["#ops"], "cy": []})
    broadcast = set(bus.subscriptions("cy"))  # the settings' broadcast channels too
    assert "#all" in broadcast
    assert not {"#news", "#ops"} & broadcast
    assert set(bus.subscriptions("amy")) == broadcast | {"#news", "#ops"}
    receive_all(bus, "amy"), receive_all(bus, "bob"), receive_all(bus, "cy")  # settings' defaults
    bus.publish("#ops", "deploy", sender="ci")
    bus.publish("#all", "hello", sender="ci")
    bus.send("cy", "direct", sender="ci")
    assert sorted(m.content for m in receive_all(bus, "amy")) == ["deploy", "hello"]
    assert sorted(m.content for m in receive_all(bus, "bob")) == ["deploy", "hello"]
    assert sorted(m.content for m in receive_all(bus, "cy")) == ["direct", "hello"]


def test_registering_in_bulk_again_changes_nothing_and_adds_what_is_new(bus: Bus) -> None:
    bus.create_channel("#news")
    bus.create_channel("#ops")
    bus.register_agents({"amy": ["#news"]})
    bus.register_agents({"amy": ["#news", "#ops"], "bob": ["#news"]})
    assert {"#news", "#ops"} <= set(bus.subscriptions("amy"))
    assert sorted(bus.get_channel("#news").members) == ["amy", "bob"]
    bus.publish("#news", "once", sender="ci")
    assert [m.content for m in receive_all(bus, "amy")] == ["once"]


def test_subscribe_many_says_which_memberships_are_new(bus: Bus) -> None:
    for name in ("#a", "#b", "#c"):
        bus.create_channel(name)
    bus.register_agent("amy", channels=["#a"])
    assert bus.subscribe_many("amy", ["#a", "#b", "#c", "#b"]) == [False, True, True, False]
    assert bus.subscribe("amy", "#c") is False
    assert {"#a", "#b", "#c"} <= set(bus.subscriptions("amy"))
    bus.publish("#b", "b1", sender="ci")
    assert [m.content for m in receive_all(bus, "amy", channel="#b")] == ["b1"]


def test_bulk_registration_checks_every_name_before_changing_anything(bus: Bus) -> None:
    bus.create_channel("#news")
    with pytest.raises(UnknownChannel):
        bus.register_agents({"amy": ["#news"], "bob": ["#nope"]})
    with pytest.raises(InvalidName):
        bus.register_agents({"amy": ["#news"], "Not An Agent": []})
    assert bus.agents() == []
    with pytest.raises(UnknownAgent):
        bus.subscribe_many("amy", ["#news"])

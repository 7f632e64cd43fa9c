"""The bulk registry operations of the store contract: the same outcome as one call per agent
or subscription."""

from __future__ import annotations

from bus.store import Store, channel_stream, direct_stream
from tests.store.support import KEEP_ALL, NEWS, append_many, body, broadcast, decoded, topic


def test_registering_agents_in_bulk_reports_each_and_is_idempotent(store: Store) -> None:
    store.registry.register_agent("bob")
    assert store.registry.register_agents(["amy", "bob", "cy", "amy"]) == [True, False, True, False]
    assert store.registry.agents() == ["amy", "bob", "cy"]
    assert store.registry.registered(["amy", "zed", "cy"]) == [True, False, True]
    assert store.registry.registered([]) == []
    assert store.registry.register_agents([]) == []


def test_agents_registered_in_bulk_join_broadcast_channels_at_their_head(store: Store) -> None:
    store.registry.create_channel(broadcast())
    append_many(store, channel_stream("#all"), 2)
    append_many(store, direct_stream("late"), 1)
    store.registry.register_agents(["early", "late"])
    assert store.registry.members("#all") == ["early", "late"]
    assert store.log.position("late", channel_stream("#all")) == 2
    assert store.log.position("late", direct_stream("late")) == 1
    assert store.log.claim("late", channel_stream("#all")) is None


def test_bulk_registration_spans_batches(store: Store) -> None:
    names = [f"a{index}" for index in range(1203)]
    assert store.registry.register_agents(names) == [True] * len(names)
    assert store.registry.registered(names) == [True] * len(names)
    assert len(store.registry.agents()) == len(names)


def test_subscribing_in_bulk_starts_each_member_at_the_head(store: Store) -> None:
    store.registry.create_channel(topic())
    store.registry.create_channel(topic("#ops"))
    store.registry.register_agents(["amy", "bob"])
    append_many(store, NEWS, 2)
    store.registry.subscribe("bob", "#news")
    flags = store.registry.subscribe_many([("amy", "#news"), ("bob", "#news"), ("bob", "#ops")])
    assert flags == [True, False, True]
    assert store.registry.members("#news") == ["amy", "bob"]
    assert store.log.position("amy", NEWS) == 2
    store.log.append(NEWS, body("fresh"), 5000, KEEP_ALL)
    assert decoded(store.log.claim("amy", NEWS)) == {"seq": 3, "content": "fresh"}
    assert store.registry.subscribe_many([]) == []


def test_subscriptions_of_names_each_agents_channels(store: Store) -> None:
    store.registry.create_channel(topic())
    store.registry.create_channel(broadcast())
    store.registry.register_agents(["amy", "bob"])
    store.registry.subscribe_many([("amy", "#news")] + [("bob", "#news")] * 600)
    assert store.registry.subscriptions_of(["amy", "bob", "nobody"]) == {
        "amy": {"#news", "#all"},
        "bob": {"#news", "#all"},
        "nobody": set(),
    }

"""The bulk registry operations of the store contract: the same outcome as one call per agent
or subscription."""

from __future__ import annotations

from bus.store import Store, channel_stream, direct_stream
from tests.store.support import KEEP_ALL, NEWS, append_many, body, broadcast, decoded, topic


def test_registering_agents_in_bulk_reports_each_and_is_idempotent(store: Store) -> None:
    store.register_agent("bob")
    assert store.register_agents(["amy", "bob", "cy", "amy"]) == [True, False, True, False]
    assert store.agents() == ["amy", "bob", "cy"]
    assert store.registered(["amy", "zed", "cy"]) == [True, False, True]
    assert store.registered([]) == []
    assert store.register_agents([]) == []


def test_agents_registered_in_bulk_join_broadcast_channels_at_their_head(store: Store) -> None:
    store.create_channel(broadcast())
    append_many(store, channel_stream("#all"), 2)
    append_many(store, direct_stream("late"), 1)
    store.register_agents(["early", "late"])
    assert store.members("#all") == ["early", "late"]
    assert store.position("late", channel_stream("#all")) == 2
    assert store.position("late", direct_stream("late")) == 1
    assert store.claim("late", channel_stream("#all")) is None


def test_bulk_registration_spans_batches(store: Store) -> None:
    names = [f"a{index}" for index in range(1203)]
    assert store.register_agents(names) == [True] * len(names)
    assert store.registered(names) == [True] * len(names)
    assert len(store.agents()) == len(names)


def test_subscribing_in_bulk_starts_each_member_at_the_head(store: Store) -> None:
    store.create_channel(topic())
    store.create_channel(topic("#ops"))
    store.register_agents(["amy", "bob"])
    append_many(store, NEWS, 2)
    store.subscribe("bob", "#news")
    flags = store.subscribe_many([("amy", "#news"), ("bob", "#news"), ("bob", "#ops")])
    assert flags == [True, False, True]
    assert store.members("#news") == ["amy", "bob"]
    assert store.position("amy", NEWS) == 2
    store.append(NEWS, body("fresh"), 5000, KEEP_ALL)
    assert decoded(store.claim("amy", NEWS)) == {"seq": 3, "content": "fresh"}
    assert store.subscribe_many([]) == []


def test_subscriptions_of_names_each_agents_channels(store: Store) -> None:
    store.create_channel(topic())
    store.create_channel(broadcast())
    store.register_agents(["amy", "bob"])
    store.subscribe_many([("amy", "#news")] + [("bob", "#news")] * 600)
    assert store.subscriptions_of(["amy", "bob", "nobody"]) == {
        "amy": {"#news", "#all"},
        "bob": {"#news", "#all"},
        "nobody": set(),
    }

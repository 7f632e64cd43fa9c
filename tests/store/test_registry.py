"""The registry part of the store contract: channels, agents, memberships, one at a time and
in bulk."""

from __future__ import annotations

import pytest

from bus.channels import ChannelKind, ChannelSpec, Retention
from bus.errors import ChannelExists
from bus.store import Store, channel_stream, direct_stream
from tests.store.support import KEEP_ALL, NEWS, append_many, body, broadcast, decoded, topic

# -- channels ----------------------------------------------------------------------------------


def test_a_reachable_store_answers_ping(store: Store) -> None:
    store.ping()  # raises if unreachable
    assert store.registry.list_channels() == []


def test_creating_a_channel_twice_with_the_same_spec_is_idempotent(store: Store) -> None:
    assert store.registry.create_channel(topic()) is True
    assert store.registry.create_channel(topic()) is False
    assert store.registry.get_channel("#news") == topic()
    assert store.registry.list_channels() == [topic()]


def test_creating_a_channel_again_with_another_spec_raises_channel_exists(store: Store) -> None:
    store.registry.create_channel(topic())
    other = ChannelSpec(name="#news", kind=ChannelKind.TOPIC, retention=Retention(max_messages=5))
    with pytest.raises(ChannelExists) as caught:
        store.registry.create_channel(other)
    assert caught.value.channel == "#news"
    with pytest.raises(ChannelExists):
        store.registry.create_channel(ChannelSpec(name="#news", kind=ChannelKind.BROADCAST))
    assert store.registry.get_channel("#news") == topic()


def test_an_unknown_channel_has_no_spec_and_channels_are_listed_by_name(store: Store) -> None:
    assert store.registry.get_channel("#nope") is None
    for name in ("#zeta", "#alpha", "#mid"):
        store.registry.create_channel(topic(name))
    assert [spec.name for spec in store.registry.list_channels()] == ["#alpha", "#mid", "#zeta"]


# -- agents and membership ----------------------------------------------------------------------


def test_registering_an_agent_is_idempotent_and_agents_are_sorted(store: Store) -> None:
    assert store.registry.is_agent("bob") is False
    assert store.registry.register_agent("bob") is True
    assert store.registry.register_agent("bob") is False
    store.registry.register_agent("alice")
    assert store.registry.is_agent("bob") is True
    assert store.registry.agents() == ["alice", "bob"]


def test_a_broadcast_channel_includes_agents_registered_before_and_after_it(store: Store) -> None:
    store.registry.register_agent("early")
    store.registry.create_channel(broadcast())
    store.registry.register_agent("late")
    assert store.registry.members("#all") == ["early", "late"]
    assert store.registry.subscriptions("early") == ["#all"]
    assert store.registry.subscriptions("late") == ["#all"]


def test_broadcast_members_start_at_the_channel_head(store: Store) -> None:
    store.registry.create_channel(broadcast())
    append_many(store, channel_stream("#all"), 3)
    store.registry.register_agent("late")
    assert store.log.position("late", channel_stream("#all")) == 3
    assert store.log.claim("late", channel_stream("#all")) is None


def test_a_new_subscriber_does_not_get_what_was_published_before(store: Store) -> None:
    store.registry.create_channel(topic())
    store.registry.register_agent("bob")
    append_many(store, NEWS, 2)
    assert store.registry.subscribe("bob", "#news") is True
    assert store.registry.subscribe("bob", "#news") is False
    assert store.log.position("bob", NEWS) == 2
    assert store.log.claim("bob", NEWS) is None
    store.log.append(NEWS, body("fresh"), 5000, KEEP_ALL)
    assert decoded(store.log.claim("bob", NEWS)) == {"seq": 3, "content": "fresh"}


def test_unsubscribing_ends_membership_and_forgets_the_position(store: Store) -> None:
    store.registry.create_channel(topic())
    store.registry.register_agent("bob")
    store.registry.subscribe("bob", "#news")
    assert store.registry.unsubscribe("bob", "#news") is True
    assert store.registry.unsubscribe("bob", "#news") is False
    assert store.registry.members("#news") == []
    assert store.registry.subscriptions("bob") == []
    assert store.log.position("bob", NEWS) is None
    recipients = store.log.append(NEWS, body("after"), 1000, KEEP_ALL).recipients
    assert recipients == []
    assert store.log.claim("bob", NEWS) is None


# -- in bulk -------------------------------------------------------------------------------------
# The same outcome as one call per agent or subscription.


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


# -- unregistering -----------------------------------------------------------------------------


def test_unregistering_an_agent_forgets_everything_it_had_in_one_step(store: Store) -> None:
    store.registry.create_channel(topic())
    store.registry.create_channel(broadcast("#all"))
    store.registry.register_agents(["alice", "bob"])
    store.registry.subscribe("alice", "#news")
    store.registry.subscribe("bob", "#news")
    append_many(store, NEWS, 2)
    inbox = direct_stream("alice")
    assert store.leases.begin("alice", NEWS, "w1", 30_000, 2).held
    store.leases.record_failure("alice", NEWS, 1, 0)

    assert store.registry.unregister_agent("alice") == ["#all", "#news"]

    assert (store.registry.is_agent("alice"), store.registry.agents()) == (False, ["bob"])
    assert store.registry.members("#news") == store.registry.members("#all") == ["bob"]
    assert store.registry.subscriptions("alice") == []
    assert store.leases.backlog("alice") == []
    # its lease went with it: a worker that took it over would begin afresh, with no failure
    store.registry.register_agent("alice")
    assert store.registry.subscriptions("alice") == ["#all"]
    store.registry.subscribe("alice", "#news")
    assert store.leases.begin("alice", NEWS, "w2", 30_000, 3).held
    assert store.leases.backlog("alice") == []
    assert store.leases.begin("alice", inbox, "w2", 30_000, 3).entry is None


def test_unregistering_an_unknown_agent_changes_nothing(store: Store) -> None:
    store.registry.create_channel(topic())
    store.registry.register_agent("bob")
    store.registry.subscribe("bob", "#news")

    assert store.registry.unregister_agent("alice") is None

    assert (store.registry.agents(), store.registry.members("#news")) == (["bob"], ["bob"])

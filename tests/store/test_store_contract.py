"""One contract for every store: MemoryStore and RedisStore must behave the same."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bus.channels import ChannelKind, ChannelSpec, Retention
from bus.errors import ChannelExists
from bus.store import Store, channel_stream, direct_stream
from bus.store.memory import MemoryStore
from bus.store.redis import RedisStore
from tests.brokers import REDIS_URL, new_namespace, require

KEEP_ALL = Retention(max_messages=1000)
NEWS = channel_stream("#news")


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store of each kind, in a namespace of its own; deleted afterwards."""
    instance: Store
    if request.param == "memory":
        instance = MemoryStore()
    else:
        require("redis")
        instance = RedisStore(REDIS_URL, new_namespace())
    try:
        yield instance
    finally:
        instance.destroy()
        instance.close()


def body(text: str) -> str:
    """A message's JSON as the bus stores it: encoded without ``seq``."""
    return json.dumps({"content": text})


def decoded(stored: str | None) -> dict[str, object]:
    assert stored is not None
    value: dict[str, object] = json.loads(stored)
    return value


def seqs(stored: list[str]) -> list[object]:
    return [decoded(entry)["seq"] for entry in stored]


def append_many(
    store: Store, stream: str, count: int, *, start_ms: int = 1000, retention: Retention = KEEP_ALL
) -> None:
    for index in range(count):
        store.append(stream, body(f"m{index + 1}"), start_ms + index, retention)


def topic(name: str = "#news") -> ChannelSpec:
    return ChannelSpec(name=name, kind=ChannelKind.TOPIC, retention=KEEP_ALL)


def broadcast(name: str = "#all") -> ChannelSpec:
    return ChannelSpec(name=name, kind=ChannelKind.BROADCAST, retention=KEEP_ALL)


# -- channels ----------------------------------------------------------------------------------


def test_a_reachable_store_answers_ping(store: Store) -> None:
    store.ping()  # raises if unreachable
    assert store.list_channels() == []


def test_creating_a_channel_twice_with_the_same_spec_is_idempotent(store: Store) -> None:
    assert store.create_channel(topic()) is True
    assert store.create_channel(topic()) is False
    assert store.get_channel("#news") == topic()
    assert store.list_channels() == [topic()]


def test_creating_a_channel_again_with_another_spec_raises_channel_exists(store: Store) -> None:
    store.create_channel(topic())
    other = ChannelSpec(name="#news", kind=ChannelKind.TOPIC, retention=Retention(max_messages=5))
    with pytest.raises(ChannelExists) as caught:
        store.create_channel(other)
    assert caught.value.channel == "#news"
    with pytest.raises(ChannelExists):
        store.create_channel(ChannelSpec(name="#news", kind=ChannelKind.BROADCAST))
    assert store.get_channel("#news") == topic()


def test_an_unknown_channel_has_no_spec_and_channels_are_listed_by_name(store: Store) -> None:
    assert store.get_channel("#nope") is None
    for name in ("#zeta", "#alpha", "#mid"):
        store.create_channel(topic(name))
    assert [spec.name for spec in store.list_channels()] == ["#alpha", "#mid", "#zeta"]


# -- agents and membership ----------------------------------------------------------------------


def test_registering_an_agent_is_idempotent_and_agents_are_sorted(store: Store) -> None:
    assert store.is_agent("bob") is False
    assert store.register_agent("bob") is True
    assert store.register_agent("bob") is False
    store.register_agent("alice")
    assert store.is_agent("bob") is True
    assert store.agents() == ["alice", "bob"]


def test_a_broadcast_channel_includes_agents_registered_before_and_after_it(store: Store) -> None:
    store.register_agent("early")
    store.create_channel(broadcast())
    store.register_agent("late")
    assert store.members("#all") == ["early", "late"]
    assert store.subscriptions("early") == ["#all"]
    assert store.subscriptions("late") == ["#all"]


def test_broadcast_members_start_at_the_channel_head(store: Store) -> None:
    store.create_channel(broadcast())
    append_many(store, channel_stream("#all"), 3)
    store.register_agent("late")
    assert store.position("late", channel_stream("#all")) == 3
    assert store.claim("late", channel_stream("#all")) is None


def test_a_new_subscriber_does_not_get_what_was_published_before(store: Store) -> None:
    store.create_channel(topic())
    store.register_agent("bob")
    append_many(store, NEWS, 2)
    assert store.subscribe("bob", "#news") is True
    assert store.subscribe("bob", "#news") is False
    assert store.position("bob", NEWS) == 2
    assert store.claim("bob", NEWS) is None
    store.append(NEWS, body("fresh"), 5000, KEEP_ALL)
    assert decoded(store.claim("bob", NEWS)) == {"seq": 3, "content": "fresh"}


def test_unsubscribing_ends_membership_and_forgets_the_position(store: Store) -> None:
    store.create_channel(topic())
    store.register_agent("bob")
    store.subscribe("bob", "#news")
    assert store.unsubscribe("bob", "#news") is True
    assert store.unsubscribe("bob", "#news") is False
    assert store.members("#news") == []
    assert store.subscriptions("bob") == []
    assert store.position("bob", NEWS) is None
    _, recipients = store.append(NEWS, body("after"), 1000, KEEP_ALL)
    assert recipients == []
    assert store.claim("bob", NEWS) is None


# -- appending -----------------------------------------------------------------------------------


def test_append_numbers_each_stream_from_one_and_names_the_members(store: Store) -> None:
    store.create_channel(topic())
    for agent in ("ann", "bob"):
        store.register_agent(agent)
        store.subscribe(agent, "#news")
    assert store.head(NEWS) == 0
    first = store.append(NEWS, body("one"), 1000, KEEP_ALL)
    second = store.append(NEWS, body("two"), 1001, KEEP_ALL)
    other = store.append(channel_stream("#other"), body("x"), 1002, KEEP_ALL)
    assert (first[0], sorted(first[1])) == (1, ["ann", "bob"])
    assert second[0] == 2
    assert other == (1, [])
    assert store.head(NEWS) == 2
    assert store.retained(NEWS) == 2
    assert [decoded(entry) for entry in store.history(NEWS)] == [
        {"seq": 1, "content": "one"},
        {"seq": 2, "content": "two"},
    ]


def test_a_direct_message_goes_to_its_owner_only_once_registered(store: Store) -> None:
    inbox = direct_stream("bob")
    assert store.append(inbox, body("early"), 1000, KEEP_ALL) == (1, [])
    store.register_agent("bob")
    assert store.position("bob", inbox) == 1
    assert store.claim("bob", inbox) is None
    assert store.append(inbox, body("hello"), 1001, KEEP_ALL) == (2, ["bob"])
    assert decoded(store.claim("bob", inbox))["content"] == "hello"


def test_retention_by_count_keeps_the_newest_messages(store: Store) -> None:
    append_many(store, NEWS, 5, retention=Retention(max_messages=3))
    assert store.head(NEWS) == 5
    assert store.retained(NEWS) == 3
    assert seqs(store.history(NEWS)) == [3, 4, 5]


def test_retention_by_age_drops_messages_older_than_the_limit(store: Store) -> None:
    ten_seconds = Retention(max_messages=100, max_age_seconds=10)
    store.append(NEWS, body("old"), 1_000, ten_seconds)
    store.append(NEWS, body("edge"), 5_000, ten_seconds)
    store.append(NEWS, body("new"), 12_000, ten_seconds)
    # At 15 s the cutoff is 5 s: "old" (1 s) goes, "edge" (exactly 5 s) stays.
    store.append(NEWS, body("now"), 15_000, ten_seconds)
    assert [decoded(entry)["content"] for entry in store.history(NEWS)] == ["edge", "new", "now"]
    assert store.retained(NEWS) == 3
    assert store.head(NEWS) == 4


# -- history -------------------------------------------------------------------------------------


def test_history_of_an_unknown_stream_is_empty(store: Store) -> None:
    assert store.history(NEWS) == []
    assert store.history(NEWS, newest=5, after=1, since_ms=0) == []
    assert store.head(NEWS) == 0
    assert store.retained(NEWS) == 0


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [1, 2, 3, 4, 5, 6]),
        ({"newest": 2}, [5, 6]),
        ({"newest": 0}, []),
        ({"newest": 100}, [1, 2, 3, 4, 5, 6]),
        ({"after": 4}, [5, 6]),
        ({"after": 0}, [1, 2, 3, 4, 5, 6]),
        ({"after": 6}, []),
        ({"after": 60}, []),
        ({"since_ms": 1003}, [4, 5, 6]),
        ({"since_ms": 0}, [1, 2, 3, 4, 5, 6]),
        ({"since_ms": 9999}, []),
        ({"after": 1, "newest": 2}, [5, 6]),
        ({"after": 4, "newest": 5}, [5, 6]),
        ({"since_ms": 1001, "newest": 3}, [4, 5, 6]),
        ({"after": 3, "since_ms": 1001}, [4, 5, 6]),
        ({"after": 1, "since_ms": 1003}, [4, 5, 6]),
        ({"after": 2, "since_ms": 1001, "newest": 2}, [5, 6]),
    ],
)
def test_history_filters_combine_and_return_oldest_first(
    store: Store, filters: dict[str, int], expected: list[int]
) -> None:
    append_many(store, NEWS, 6, start_ms=1000)  # seq n was appended at 999 + n ms
    assert seqs(store.history(NEWS, **filters)) == expected


def test_history_after_a_trimmed_seq_starts_at_the_oldest_retained(store: Store) -> None:
    append_many(store, NEWS, 6, retention=Retention(max_messages=3))
    assert seqs(store.history(NEWS, after=1)) == [4, 5, 6]
    assert seqs(store.history(NEWS, after=5)) == [6]


# -- claiming ------------------------------------------------------------------------------------


def test_claim_hands_each_message_over_exactly_once_in_order(store: Store) -> None:
    store.create_channel(topic())
    store.register_agent("bob")
    store.subscribe("bob", "#news")
    append_many(store, NEWS, 3)
    claimed = [store.claim("bob", NEWS) for _ in range(4)]
    assert [decoded(entry)["seq"] for entry in claimed[:3]] == [1, 2, 3]
    assert claimed[3] is None
    assert store.position("bob", NEWS) == 3


def test_each_member_claims_a_message_independently(store: Store) -> None:
    store.create_channel(topic())
    for agent in ("ann", "bob"):
        store.register_agent(agent)
        store.subscribe(agent, "#news")
    store.append(NEWS, body("shared"), 1000, KEEP_ALL)
    assert decoded(store.claim("ann", NEWS))["content"] == "shared"
    assert store.claim("ann", NEWS) is None
    assert decoded(store.claim("bob", NEWS))["content"] == "shared"


def test_claim_skips_messages_that_retention_trimmed(store: Store) -> None:
    store.create_channel(topic())
    store.register_agent("bob")
    store.subscribe("bob", "#news")
    append_many(store, NEWS, 5, retention=Retention(max_messages=2))
    assert decoded(store.claim("bob", NEWS))["seq"] == 4
    assert decoded(store.claim("bob", NEWS))["seq"] == 5
    assert store.claim("bob", NEWS) is None


def test_claim_gives_nothing_on_a_stream_the_agent_does_not_read(store: Store) -> None:
    store.register_agent("bob")
    append_many(store, NEWS, 2)
    assert store.claim("bob", NEWS) is None
    assert store.claim("nobody", NEWS) is None
    assert store.position("bob", NEWS) is None


def test_claim_any_picks_the_oldest_pending_message_across_streams(store: Store) -> None:
    store.create_channel(topic("#a"))
    store.create_channel(topic("#b"))
    store.register_agent("bob")
    store.subscribe("bob", "#a")
    store.subscribe("bob", "#b")
    store.append(channel_stream("#b"), body("b1"), 1000, KEEP_ALL)
    store.append(channel_stream("#a"), body("a1"), 2000, KEEP_ALL)
    store.append(direct_stream("bob"), body("d1"), 1500, KEEP_ALL)
    store.append(channel_stream("#b"), body("b2"), 3000, KEEP_ALL)
    claimed = [store.claim_any("bob") for _ in range(4)]
    assert [stream for stream, _ in claimed] == [  # type: ignore[misc]
        channel_stream("#b"),
        direct_stream("bob"),
        channel_stream("#a"),
        channel_stream("#b"),
    ]
    assert [decoded(body)["content"] for _, body in claimed] == ["b1", "d1", "a1", "b2"]  # type: ignore[misc]
    assert store.claim_any("bob") is None
    assert store.position("bob", channel_stream("#a")) == 1
    assert store.position("bob", channel_stream("#b")) == 2
    assert store.position("bob", direct_stream("bob")) == 1


def test_claim_any_with_nothing_pending_returns_none(store: Store) -> None:
    assert store.claim_any("nobody") is None
    store.register_agent("bob")
    assert store.claim_any("bob") is None


# -- positions and teardown ----------------------------------------------------------------------


def test_position_is_the_last_seq_handed_over(store: Store) -> None:
    store.register_agent("bob")
    inbox = direct_stream("bob")
    assert store.position("bob", inbox) == 0
    append_many(store, inbox, 2)
    assert store.position("bob", inbox) == 0
    store.claim("bob", inbox)
    assert store.position("bob", inbox) == 1
    assert store.position("ghost", inbox) is None


def test_destroy_forgets_everything(store: Store) -> None:
    store.create_channel(broadcast())
    store.register_agent("bob")
    append_many(store, channel_stream("#all"), 2)
    store.destroy()
    assert store.list_channels() == []
    assert store.agents() == []
    assert store.members("#all") == []
    assert store.history(channel_stream("#all")) == []
    assert store.head(channel_stream("#all")) == 0

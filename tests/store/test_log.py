"""The log part of the store contract: appends, retention, history, positions, claims, and
coalesced deliveries (an append wakes only the recipients with no delivery outstanding)."""

from __future__ import annotations

import json

import pytest

from bus.channels import Retention
from bus.store import Appended, Entry, Store, channel_stream, direct_stream
from tests.store.support import (
    KEEP_ALL,
    NEWS,
    append_many,
    body,
    broadcast,
    claim_any,
    contents,
    decoded,
    reader,
    seqs,
    topic,
)

#: A lease long enough for a test.
TTL = 10_000

# -- appending -----------------------------------------------------------------------------------


def test_append_numbers_each_stream_from_one_and_names_the_members(store: Store) -> None:
    store.registry.create_channel(topic())
    for agent in ("ann", "bob"):
        store.registry.register_agent(agent)
        store.registry.subscribe(agent, "#news")
    assert store.log.head(NEWS) == 0
    first = store.log.append(NEWS, body("one"), 1000, KEEP_ALL)
    second = store.log.append(NEWS, body("two"), 1001, KEEP_ALL)
    other = store.log.append(channel_stream("#other"), body("x"), 1002, KEEP_ALL)
    assert (first.seq, sorted(first.recipients)) == (1, ["ann", "bob"])
    assert second.seq == 2
    assert other == Appended(seq=1, recipients=[])
    assert store.log.head(NEWS) == 2
    assert store.log.retained(NEWS) == 2
    assert [decoded(entry) for entry in store.log.history(NEWS)] == [
        {"seq": 1, "content": "one"},
        {"seq": 2, "content": "two"},
    ]


def test_a_direct_message_goes_to_its_owner_only_once_registered(store: Store) -> None:
    inbox = direct_stream("bob")
    assert store.log.append(inbox, body("early"), 1000, KEEP_ALL) == (1, [], None)
    store.registry.register_agent("bob")
    assert store.log.position("bob", inbox) == 1
    assert store.log.claim("bob", inbox) is None
    assert store.log.append(inbox, body("hello"), 1001, KEEP_ALL) == (2, ["bob"], None)
    assert decoded(store.log.claim("bob", inbox))["content"] == "hello"


def test_retention_by_count_keeps_the_newest_messages(store: Store) -> None:
    append_many(store, NEWS, 5, retention=Retention(max_messages=3))
    assert store.log.head(NEWS) == 5
    assert store.log.retained(NEWS) == 3
    assert seqs(store.log.history(NEWS)) == [3, 4, 5]


def test_retention_by_age_drops_messages_older_than_the_limit(store: Store) -> None:
    ten_seconds = Retention(max_messages=100, max_age_seconds=10)
    store.log.append(NEWS, body("old"), 1_000, ten_seconds)
    store.log.append(NEWS, body("edge"), 5_000, ten_seconds)
    store.log.append(NEWS, body("new"), 12_000, ten_seconds)
    # At 15 s the cutoff is 5 s: "old" (1 s) goes, "edge" (exactly 5 s) stays.
    store.log.append(NEWS, body("now"), 15_000, ten_seconds)
    assert contents(store.log.history(NEWS)) == ["edge", "new", "now"]
    assert store.log.retained(NEWS) == 3
    assert store.log.head(NEWS) == 4


# -- history -------------------------------------------------------------------------------------


def test_history_of_an_unknown_stream_is_empty(store: Store) -> None:
    assert store.log.history(NEWS) == []
    assert store.log.history(NEWS, newest=5, after=1, since_ms=0) == []
    assert store.log.head(NEWS) == 0
    assert store.log.retained(NEWS) == 0


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
    assert seqs(store.log.history(NEWS, **filters)) == expected


def test_history_after_a_trimmed_seq_starts_at_the_oldest_retained(store: Store) -> None:
    append_many(store, NEWS, 6, retention=Retention(max_messages=3))
    assert seqs(store.log.history(NEWS, after=1)) == [4, 5, 6]
    assert seqs(store.log.history(NEWS, after=5)) == [6]


# -- claiming ------------------------------------------------------------------------------------


def test_claim_hands_each_message_over_exactly_once_in_order(store: Store) -> None:
    store.registry.create_channel(topic())
    store.registry.register_agent("bob")
    store.registry.subscribe("bob", "#news")
    append_many(store, NEWS, 3)
    claimed = [store.log.claim("bob", NEWS) for _ in range(4)]
    assert [decoded(entry)["seq"] for entry in claimed[:3]] == [1, 2, 3]
    assert {entry.stream for entry in claimed[:3] if entry} == {NEWS}
    assert claimed[3] is None
    assert store.log.position("bob", NEWS) == 3


def test_each_member_claims_a_message_independently(store: Store) -> None:
    store.registry.create_channel(topic())
    for agent in ("ann", "bob"):
        store.registry.register_agent(agent)
        store.registry.subscribe(agent, "#news")
    store.log.append(NEWS, body("shared"), 1000, KEEP_ALL)
    assert decoded(store.log.claim("ann", NEWS))["content"] == "shared"
    assert store.log.claim("ann", NEWS) is None
    assert decoded(store.log.claim("bob", NEWS))["content"] == "shared"


def test_claim_skips_messages_that_retention_trimmed(store: Store) -> None:
    store.registry.create_channel(topic())
    store.registry.register_agent("bob")
    store.registry.subscribe("bob", "#news")
    append_many(store, NEWS, 5, retention=Retention(max_messages=2))
    assert decoded(store.log.claim("bob", NEWS))["seq"] == 4
    assert decoded(store.log.claim("bob", NEWS))["seq"] == 5
    assert store.log.claim("bob", NEWS) is None


def test_claim_gives_nothing_on_a_stream_the_agent_does_not_read(store: Store) -> None:
    store.registry.register_agent("bob")
    append_many(store, NEWS, 2)
    assert store.log.claim("bob", NEWS) is None
    assert store.log.claim("nobody", NEWS) is None
    assert store.log.position("bob", NEWS) is None


def test_claim_any_picks_the_oldest_pending_message_across_streams(store: Store) -> None:
    store.registry.create_channel(topic("#a"))
    store.registry.create_channel(topic("#b"))
    store.registry.register_agent("bob")
    store.registry.subscribe("bob", "#a")
    store.registry.subscribe("bob", "#b")
    store.log.append(channel_stream("#b"), body("b1"), 1000, KEEP_ALL)
    store.log.append(channel_stream("#a"), body("a1"), 2000, KEEP_ALL)
    store.log.append(direct_stream("bob"), body("d1"), 1500, KEEP_ALL)
    store.log.append(channel_stream("#b"), body("b2"), 3000, KEEP_ALL)
    claimed = [claim_any(store, "bob") for _ in range(4)]
    assert [entry.stream if entry else None for entry in claimed] == [
        channel_stream("#b"),
        direct_stream("bob"),
        channel_stream("#a"),
        channel_stream("#b"),
    ]
    assert [decoded(entry)["content"] for entry in claimed] == ["b1", "d1", "a1", "b2"]
    assert [entry.seq if entry else None for entry in claimed] == [1, 1, 1, 2]
    assert claim_any(store, "bob") is None
    assert store.log.position("bob", channel_stream("#a")) == 1
    assert store.log.position("bob", channel_stream("#b")) == 2
    assert store.log.position("bob", direct_stream("bob")) == 1


def test_claim_any_with_nothing_pending_returns_none(store: Store) -> None:
    assert claim_any(store, "nobody") is None
    store.registry.register_agent("bob")
    assert claim_any(store, "bob") is None


# -- positions and teardown ----------------------------------------------------------------------


def test_position_is_the_last_seq_handed_over(store: Store) -> None:
    store.registry.register_agent("bob")
    inbox = direct_stream("bob")
    assert store.log.position("bob", inbox) == 0
    append_many(store, inbox, 2)
    assert store.log.position("bob", inbox) == 0
    store.log.claim("bob", inbox)
    assert store.log.position("bob", inbox) == 1
    assert store.log.position("ghost", inbox) is None


def test_destroy_forgets_everything(store: Store) -> None:
    store.registry.create_channel(broadcast())
    store.registry.register_agent("bob")
    append_many(store, channel_stream("#all"), 2)
    store.destroy()
    assert store.registry.list_channels() == []
    assert store.registry.agents() == []
    assert store.registry.members("#all") == []
    assert store.log.history(channel_stream("#all")) == []
    assert store.log.head(channel_stream("#all")) == 0
    assert store.log.position("bob", direct_stream("bob")) is None
    assert claim_any(store, "bob") is None
    store.registry.register_agent("bob")  # the store works on after being destroyed
    store.log.append(direct_stream("bob"), body("again"), 1000, KEEP_ALL)
    assert decoded(claim_any(store, "bob"))["content"] == "again"


def test_history_hands_the_body_back_as_appended_with_the_seq_beside_it(store: Store) -> None:
    store.log.append(NEWS, '{"id": 7, "content": "x"}', 1000, KEEP_ALL)
    store.log.append(NEWS, "{}", 1001, KEEP_ALL)
    assert store.log.history(NEWS) == [
        Entry(NEWS, 1, '{"id": 7, "content": "x"}'),
        Entry(NEWS, 2, "{}"),
    ]
    assert [entry.json for entry in store.log.history(NEWS)] == [
        '{"id": 7, "content": "x","seq":1}',
        '{"seq":2}',
    ]


def test_a_seq_stored_in_a_body_never_overrides_the_place_it_sits_at(store: Store) -> None:
    store.log.append(NEWS, '{"content": "x", "seq": 1}', 1000, KEEP_ALL)
    store.log.append(NEWS, '{"content": "y", "seq": 1}', 1001, KEEP_ALL)
    assert [json.loads(entry.json)["seq"] for entry in store.log.history(NEWS)] == [1, 2]


def test_an_id_keeps_the_first_place_it_was_appended_at(store: Store) -> None:
    assert store.log.placed("m-1") is None
    store.log.append(NEWS, "{}", 1000, KEEP_ALL, message_id="m-1")
    store.log.append(NEWS, "{}", 1001, KEEP_ALL, message_id="m-1")  # a copy
    assert store.log.placed("m-1") == (NEWS, 1)
    assert store.log.find(["m-1"])["m-1"].entry.seq == 1


def test_retention_by_age_also_hides_aged_messages_from_claims(store: Store) -> None:
    reader(store, "bob", "#news")
    one_second = Retention(max_messages=100, max_age_seconds=1)
    store.log.append(NEWS, body("old"), 1_000, one_second)
    store.log.append(NEWS, body("new"), 3_000, one_second)
    assert store.log.retained(NEWS) == 1
    assert decoded(store.log.claim("bob", NEWS)) == {"seq": 2, "content": "new"}


def test_claim_any_breaks_ties_in_append_time_by_stream_id(store: Store) -> None:
    reader(store, "bob", "#b", "#a")
    for stream in (channel_stream("#b"), direct_stream("bob"), channel_stream("#a")):
        store.log.append(stream, body(stream), 1000, KEEP_ALL)
    claimed = [claim_any(store, "bob") for _ in range(3)]
    assert [entry.stream if entry else None for entry in claimed] == sorted(
        [channel_stream("#a"), channel_stream("#b"), direct_stream("bob")]
    )


def test_claim_any_follows_subscriptions_made_and_ended_between_claims(store: Store) -> None:
    reader(store, "bob", "#a")
    store.log.append(channel_stream("#a"), body("a1"), 1000, KEEP_ALL)
    assert decoded(claim_any(store, "bob"))["content"] == "a1"
    reader(store, "bob", "#b")
    store.log.append(channel_stream("#b"), body("b1"), 2000, KEEP_ALL)
    assert decoded(claim_any(store, "bob"))["content"] == "b1"
    store.registry.unsubscribe("bob", "#a")
    store.log.append(channel_stream("#a"), body("a2"), 3000, KEEP_ALL)
    store.log.append(direct_stream("bob"), body("d1"), 4000, KEEP_ALL)
    assert decoded(claim_any(store, "bob"))["content"] == "d1"
    assert claim_any(store, "bob") is None


def test_claim_any_skips_what_retention_trimmed(store: Store) -> None:
    reader(store, "bob", "#news")
    append_many(store, NEWS, 4, retention=Retention(max_messages=2))
    assert seqs([entry for _ in range(3) if (entry := claim_any(store, "bob"))]) == [3, 4]


# -- coalesced deliveries -----------------------------------------------------------------------
# An append wakes a recipient only if no delivery of its is outstanding on the stream; a consumer
# that finds the stream drained clears the signal.


def post(store: Store, stream: str = NEWS, text: str = "m") -> list[str]:
    """Append with coalescing; the recipients it wakes, sorted."""
    appended = store.log.append(stream, body(text), 1000, KEEP_ALL, coalesce=True)
    assert appended.woken is not None
    return sorted(appended.woken)


def test_a_recipient_is_woken_once_until_it_finds_the_stream_drained(store: Store) -> None:
    reader(store, "ann", "#news")
    reader(store, "bob", "#news")
    assert post(store) == ["ann", "bob"]
    assert post(store) == []  # both are signalled already
    assert store.log.claim("bob", NEWS) is not None
    assert store.log.claim("bob", NEWS) is not None
    assert post(store) == []  # bob read on but never found the stream drained
    assert store.log.claim("bob", NEWS) is not None
    assert store.log.claim("bob", NEWS) is None  # drained: his signal is cleared
    assert post(store) == ["bob"]


def test_without_coalescing_every_recipient_is_woken(store: Store) -> None:
    reader(store, "ann", "#news")
    appended = store.log.append(NEWS, body("m"), 1000, KEEP_ALL)
    assert appended.woken is None
    assert appended.to_wake == ["ann"]
    assert store.log.append(NEWS, body("m"), 1001, KEEP_ALL).to_wake == ["ann"]


def test_claim_any_take_and_runs_clear_the_signal_when_drained(store: Store) -> None:
    reader(store, "ann", "#news")
    post(store)
    assert claim_any(store, "ann") is not None
    assert claim_any(store, "ann") is None
    assert post(store) == ["ann"]
    assert store.leases.take("ann", NEWS, "r1", TTL, 0, 5).entries
    assert post(store) == []
    assert store.leases.take("ann", NEWS, "r1", TTL, 3, 5).entries == ()
    assert post(store) == ["ann"]
    step = store.leases.begin("ann", NEWS, "w1", TTL, 2**62)
    assert step.entry is not None
    assert store.leases.advance("ann", NEWS, "w1", TTL, step.entry.seq, 2**62).entry is None
    assert post(store) == ["ann"]


def test_a_lease_held_elsewhere_keeps_the_signal(store: Store) -> None:
    reader(store, "ann", "#news")
    post(store)
    store.leases.begin("ann", NEWS, "w1", TTL, 2**62)  # a worker's run holds the stream
    assert store.log.claim("ann", NEWS) is None
    assert claim_any(store, "ann") is None
    assert post(store) == []  # the run drains it, and clears the signal then


def test_leaving_the_channel_clears_the_signal(store: Store) -> None:
    reader(store, "ann", "#news")
    post(store)
    store.registry.unsubscribe("ann", "#news")
    store.registry.subscribe("ann", "#news")
    assert post(store) == ["ann"]


def test_direct_messages_coalesce_per_inbox(store: Store) -> None:
    reader(store, "ann")
    inbox = direct_stream("ann")
    assert post(store, inbox) == ["ann"]
    assert post(store, inbox) == []
    assert store.log.claim("ann", inbox) is not None
    assert store.log.claim("ann", inbox) is not None
    assert store.log.claim("ann", inbox) is None
    assert post(store, inbox) == ["ann"]


def test_unsignal_lets_the_next_append_wake_again(store: Store) -> None:
    reader(store, "ann", "#news")
    reader(store, "bob", "#news")
    post(store)
    store.log.unsignal(NEWS, ["ann"])  # her delivery could not be published
    assert post(store) == ["ann"]
    store.log.unsignal(NEWS, [])


# -- the causation index -------------------------------------------------------------------------


def test_an_append_with_ids_is_found_by_id_and_under_its_cause(store: Store) -> None:
    store.registry.create_channel(topic())
    inbox = direct_stream("ann")
    store.log.append(NEWS, body("root"), 1000, KEEP_ALL, message_id="r")
    store.log.append(NEWS, body("a"), 1001, KEEP_ALL, message_id="a", causation_id="r")
    store.log.append(inbox, body("b"), 1002, KEEP_ALL, message_id="b", causation_id="r")
    store.log.append(NEWS, body("c"), 1003, KEEP_ALL, message_id="c", causation_id="a")
    store.log.append(NEWS, body("unindexed"), 1004, KEEP_ALL)

    found = store.log.find(["r", "b", "c", "nobody"])
    assert sorted(found) == ["b", "c", "r"]
    root, dm = found["r"], found["b"]
    assert (root.entry.stream, root.entry.seq, root.causation_id) == (NEWS, 1, None)
    assert (dm.entry.stream, dm.entry.seq, dm.causation_id) == (inbox, 1, "r")
    assert decoded(found["c"].entry) == {"seq": 3, "content": "c"}
    caused = store.log.caused(["r", "a", "c", "nobody"])
    assert {key: sorted(value) for key, value in caused.items()} == {
        "r": ["a", "b"],
        "a": ["c"],
        "c": [],
        "nobody": [],
    }
    assert store.log.find([]) == {}


def test_the_causation_index_forgets_what_retention_trims(store: Store) -> None:
    store.registry.create_channel(topic())
    keep_two = Retention(max_messages=2)
    store.log.append(NEWS, body("root"), 1000, keep_two, message_id="r")
    store.log.append(NEWS, body("a"), 1001, keep_two, message_id="a", causation_id="r")
    store.log.append(NEWS, body("b"), 1002, keep_two, message_id="b", causation_id="r")
    assert sorted(store.log.find(["r", "a", "b"])) == ["a", "b"]
    assert sorted(store.log.caused(["r"])["r"]) == ["a", "b"]  # the cause went, not its children
    store.log.append(NEWS, body("c"), 1003, keep_two)
    store.log.append(NEWS, body("d"), 1004, keep_two)
    assert store.log.find(["r", "a", "b"]) == {}
    assert store.log.caused(["r"]) == {"r": []}


def test_the_causation_index_forgets_what_ages_out(store: Store) -> None:
    store.registry.create_channel(topic())
    one_second = Retention(max_messages=100, max_age_seconds=1)
    store.log.append(NEWS, body("old"), 1000, one_second, message_id="old")
    store.log.append(NEWS, body("new"), 5000, one_second, message_id="new", causation_id="old")
    assert sorted(store.log.find(["old", "new"])) == ["new"]
    assert store.log.caused(["old"]) == {"old": ["new"]}

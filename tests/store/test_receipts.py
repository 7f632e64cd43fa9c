"""The receipts part of the store contract: the message-id index and audiences the append
writes, the facts read back for each member, and the notes of what went otherwise."""

from __future__ import annotations

import time

from bus.channels import Retention
from bus.store import Located, MemberFacts, Note, Store, channel_stream, direct_stream
from tests.store.support import KEEP_ALL, NEWS, body, reader

TTL = 10_000


def publish(store: Store, text: str, retention: Retention = KEEP_ALL, *, at: int = 1000) -> str:
    """Append ``text`` to #news indexed under the id ``id-<text>``; returns the id."""
    store.log.append(NEWS, body(text), at, retention, message_id=f"id-{text}", sender="ann")
    return f"id-{text}"


def test_an_unknown_id_has_no_facts(store: Store) -> None:
    reader(store, "bob", "#news")
    store.log.append(NEWS, body("not indexed"), 1000, KEEP_ALL)
    assert store.receipts.facts("nope") is None


def test_the_index_locates_a_message_and_names_its_audience_at_publish_time(store: Store) -> None:
    reader(store, "bob", "#news")
    store.registry.register_agent("cy")
    store.registry.subscribe("cy", "#news")
    first = publish(store, "m1")
    store.registry.unsubscribe("cy", "#news")
    second = publish(store, "m2", at=1001)
    facts = store.receipts.facts(first)
    assert facts is not None
    assert facts.located == Located(NEWS, 1, 1000, "ann")
    assert facts.audience == ("bob", "cy")  # cy was a member when m1 was stored
    assert (facts.first, facts.head) == (1, 2)
    assert facts.members["bob"] == MemberFacts(0, None, None, None)
    assert facts.members["cy"].position is None  # it left since
    later = store.receipts.facts(second)
    assert later is not None
    assert later.audience == ("bob",)
    assert later.located.seq == 2


def test_a_direct_message_is_for_its_recipient(store: Store) -> None:
    store.registry.register_agent("bob")
    inbox = direct_stream("bob")
    store.log.append(inbox, body("hi"), 1000, KEEP_ALL, message_id="dm-1", sender="ann")
    facts = store.receipts.facts("dm-1")
    assert facts is not None
    assert facts.audience == ("bob",)
    assert facts.members["bob"].position == 0


def test_a_lease_its_start_and_a_failure_with_its_error_are_read_back(store: Store) -> None:
    reader(store, "bob", "#news")
    message_id = publish(store, "m1")
    before = int(time.time() * 1000)
    store.leases.begin("bob", NEWS, "host/1/task/run", TTL, 10)
    assert store.leases.record_failure("bob", NEWS, 1, 5000, "ValueError: no") == 1
    facts = store.receipts.facts(message_id)
    assert facts is not None
    bob = facts.members["bob"]
    assert bob.lease == "host/1/task/run"
    assert bob.started is not None
    assert bob.started[0] == 1
    assert bob.started[1] >= before
    assert bob.failure == (1, 1, 5000)
    note = facts.notes["bob"]
    assert (note.kind, note.attempts, note.error) == ("failed", 1, "ValueError: no")


def test_a_stale_failure_never_replaces_the_note_of_a_dead_letter(store: Store) -> None:
    reader(store, "bob", "#news")
    message_id = publish(store, "m1")
    store.leases.begin("bob", NEWS, "w1", TTL, 10)
    assert store.leases.record_failure("bob", NEWS, 1, 0, "boom", token="w1") == 1
    store.receipts.note(NEWS, 1, "bob", Note("dead_lettered", 1000, 1, "boom", 7))
    store.leases.advance("bob", NEWS, "w1", TTL, 1, 10)
    # Another run of the same message (its lease had lapsed) fails it late: nothing changes.
    assert store.leases.record_failure("bob", NEWS, 1, 0, "late", token="w0") == 0
    facts = store.receipts.facts(message_id)
    assert facts is not None
    assert facts.notes["bob"].kind == "dead_lettered"


def test_notes_are_per_message_and_agent_and_skips_cover_a_range(store: Store) -> None:
    reader(store, "bob", "#news")
    ids = [publish(store, f"m{n}", at=1000 + n) for n in range(1, 5)]
    store.receipts.note(NEWS, 2, "bob", Note("dead_lettered", 7, 4, "boom", 12))
    store.receipts.note_skipped("bob", NEWS, 3, 4, 8)
    notes = [store.receipts.facts(each).notes for each in ids]  # type: ignore[union-attr]
    assert notes[0] == {}
    assert notes[1] == {"bob": Note("dead_lettered", 7, 4, "boom", 12)}
    assert notes[2] == notes[3] == {"bob": Note("skipped", 8)}


def test_the_index_keeps_twice_the_retention_and_trimmed_messages_stay_known(
    store: Store,
) -> None:
    reader(store, "bob", "#news")
    small = Retention(max_messages=2)
    ids = [publish(store, f"m{n}", small, at=1000 + n) for n in range(1, 6)]
    assert store.receipts.facts(ids[0]) is None  # 5 appends: the index keeps the last 4
    facts = store.receipts.facts(ids[1])
    assert facts is not None
    assert facts.first == 4  # the log keeps 4 and 5: m2 is trimmed, still known
    assert facts.located.seq == 2


def test_notes_of_forgotten_messages_are_dropped_when_the_next_is_written(store: Store) -> None:
    reader(store, "bob", "#news")
    small = Retention(max_messages=1)
    first = publish(store, "m1", small)
    store.receipts.note(NEWS, 1, "bob", Note("refused", 5, 0, "bad_signature"))
    for n in range(2, 5):
        publish(store, f"m{n}", small, at=1000 + n)
    store.receipts.note(NEWS, 4, "bob", Note("refused", 6, 0, "bad_signature"))
    assert store.receipts.facts(first) is None
    store.log.append(NEWS, body("m5"), 1005, KEEP_ALL, message_id="id-m1", sender="ann")
    facts = store.receipts.facts("id-m1")  # the id used again for seq 5: no old note follows it
    assert facts is not None
    assert facts.located.seq == 5
    assert facts.notes == {}


def test_the_audience_is_recorded_only_when_the_membership_changes(store: Store) -> None:
    reader(store, "bob", "#news")
    for n in range(1, 4):
        publish(store, f"m{n}", at=1000 + n)
    store.registry.register_agent("cy")
    store.registry.subscribe("cy", "#news")
    fourth = publish(store, "m4", at=1004)
    third = store.receipts.facts("id-m3")
    assert third is not None
    assert third.audience == ("bob",)
    facts = store.receipts.facts(fourth)
    assert facts is not None
    assert facts.audience == ("bob", "cy")
    assert channel_stream("#news") == NEWS


def test_one_index_serves_find_caused_and_receipts_each_to_its_own_horizon(store: Store) -> None:
    reader(store, "bob", "#news")
    small = Retention(max_messages=2)
    store.log.append(NEWS, body("root"), 1001, small, message_id="r", sender="ann")
    store.log.append(NEWS, body("a"), 1002, small, message_id="a", causation_id="r", sender="bob")
    facts = store.receipts.facts("a")
    assert facts is not None
    assert facts.located == Located(NEWS, 2, 1002, "bob", "r")
    for n in range(3, 5):
        publish(store, f"m{n}", small, at=1000 + n)
    # a is trimmed: gone from find and caused (trace), still known to receipts
    assert store.log.find(["r", "a"]) == {}
    assert store.log.caused(["r"]) == {"r": []}
    trimmed = store.receipts.facts("a")
    assert trimmed is not None
    assert (trimmed.located.seq, trimmed.first) == (2, 3)


def test_unregistering_an_agent_forgets_its_started_run(store: Store) -> None:
    reader(store, "bob", "#news")
    message_id = publish(store, "m1")
    store.leases.begin("bob", NEWS, "host/1/task/run", TTL, 10)
    assert store.receipts.facts(message_id).members["bob"].started is not None  # type: ignore[union-attr]
    assert store.registry.unregister_agent("bob") == ["#news"]
    reader(store, "bob", "#news")
    assert store.receipts.facts(message_id).members["bob"].started is None  # type: ignore[union-attr]


def test_a_run_taking_over_a_dead_workers_run_on_its_message_counts_an_attempt(
    store: Store,
) -> None:
    reader(store, "bob", "#news")
    message_id = publish(store, "m1")
    store.liveness.beat("w1", TTL, ["bob"])
    store.liveness.beat("w2", TTL, ["bob"])
    assert store.leases.begin("bob", NEWS, "w1 run-a", TTL, 10).failure is None
    store.liveness.stopped("w1")  # killed in the handler: no failure recorded
    step = store.leases.begin("bob", NEWS, "w2 run-b", TTL, 10)
    assert step.entry is not None
    assert step.entry.seq == 1
    assert step.failure is not None
    assert step.failure.attempts == 1
    again = store.leases.begin("bob", NEWS, "w2 run-b", TTL, 10)  # the same run: not counted
    assert again.failure is not None
    assert again.failure.attempts == 1
    facts = store.receipts.facts(message_id)
    assert facts is not None
    note = facts.notes["bob"]
    assert (note.kind, note.attempts) == ("failed", 1)
    assert note.error is not None
    assert "w1" in note.error
    store.leases.advance("bob", NEWS, "w2 run-b", TTL, 1, 10)
    handled = store.receipts.facts(message_id)
    assert handled is not None
    assert handled.members["bob"].position == 1
    assert handled.notes["bob"].attempts == 1  # status: handled at the second attempt


def test_a_new_run_of_a_live_worker_on_the_same_message_counts_no_attempt(store: Store) -> None:
    reader(store, "bob", "#news")
    publish(store, "m1")
    store.liveness.beat("w1", TTL, ["bob"])
    store.leases.begin("bob", NEWS, "w1 run-a", TTL, 10)
    store.leases.release_lease("bob", NEWS, "w1 run-a")
    assert store.leases.begin("bob", NEWS, "w1 run-b", TTL, 10).failure is None


def test_a_run_that_gave_its_lease_up_before_its_worker_stopped_counts_no_attempt(
    store: Store,
) -> None:
    reader(store, "bob", "#news")
    publish(store, "m1")
    store.liveness.beat("w1", TTL, ["bob"])
    store.leases.begin("bob", NEWS, "w1 run-a", TTL, 10)
    store.leases.release_lease("bob", NEWS, "w1 run-a")  # a graceful stop: the handler cancelled
    store.liveness.stopped("w1")
    store.liveness.beat("w2", TTL, ["bob"])
    assert store.leases.begin("bob", NEWS, "w2 run-b", TTL, 10).failure is None

"""The leases part of the store contract: leases, failed attempts, backlog, and a pull reader's
batches (take)."""

from __future__ import annotations

import time
from uuid import uuid4

from bus.channels import Retention
from bus.message import Message
from bus.reading.replays import copy_refusal
from bus.store import Batch, Entry, Failure, Lag, Step, Store, channel_stream, direct_stream
from tests.store.support import KEEP_ALL, NEWS, append_many, body, claim_any, reader

TTL = 10_000
#: A lease short enough to watch it expire.
SHORT_TTL = 100


def pending(store: Store, count: int = 3) -> None:
    """bob reads #news, which holds ``count`` messages he has not handled."""
    reader(store, "bob", "#news")
    append_many(store, NEWS, count)


def test_begin_takes_the_lease_and_reads_the_next_message(store: Store) -> None:
    pending(store)
    step = store.leases.begin("bob", NEWS, "w1", TTL, 3)
    assert step == Step(True, Entry(NEWS, 1, body("m1")), None)
    busy = store.leases.begin("bob", NEWS, "w2", TTL, 3)
    assert busy.held is False
    assert busy.entry is None
    assert busy.holder is not None
    assert busy.holder.worker is None  # "w1" names no worker
    assert 0 < busy.holder.expires_in_ms <= TTL
    assert store.leases.begin("bob", NEWS, "w1", TTL, 3).entry == step.entry  # the holder extends
    assert store.log.position("bob", NEWS) == 0  # reading is not handling


def test_begin_with_nothing_up_to_upto_gives_the_lease_up(store: Store) -> None:
    pending(store)
    assert store.leases.begin("bob", NEWS, "w1", TTL, 0) == Step(True)
    assert store.leases.renew_lease("bob", NEWS, "w1", TTL) is False
    reader(store, "ann", "#other")
    assert store.leases.begin("ann", channel_stream("#other"), "w1", TTL, 10) == Step(True)
    assert store.leases.begin("ghost", NEWS, "w1", TTL, 10) == Step(True)  # reads no stream
    assert store.leases.begin("bob", NEWS, "w2", TTL, 3).held is True  # w1 holds nothing


def test_advance_moves_the_position_and_reads_on(store: Store) -> None:
    pending(store)
    store.leases.begin("bob", NEWS, "w1", TTL, 3)
    step = store.leases.advance("bob", NEWS, "w1", TTL, 1, 3)
    assert step == Step(True, Entry(NEWS, 2, body("m2")))
    assert store.log.position("bob", NEWS) == 1
    assert store.leases.advance("bob", NEWS, "w1", TTL, 2, 2) == Step(True)  # upto reached: let go
    assert store.log.position("bob", NEWS) == 2
    assert store.leases.begin("bob", NEWS, "w2", TTL, 3).entry == Entry(NEWS, 3, body("m3"))


def test_advance_never_moves_the_position_back(store: Store) -> None:
    pending(store)
    store.leases.begin("bob", NEWS, "w1", TTL, 3)
    store.leases.advance("bob", NEWS, "w1", TTL, 2, 3)
    step = store.leases.advance("bob", NEWS, "w1", TTL, 1, 3)
    assert store.log.position("bob", NEWS) == 2
    assert step.entry == Entry(NEWS, 3, body("m3"))


def test_advance_past_the_head_ends_with_nothing_to_do(store: Store) -> None:
    pending(store, 1)
    store.leases.begin("bob", NEWS, "w1", TTL, 1)
    assert store.leases.advance("bob", NEWS, "w1", TTL, 1, 5) == Step(True)
    assert store.leases.begin("bob", NEWS, "w2", TTL, 5) == Step(True)


def test_renew_only_extends_a_lease_its_token_holds(store: Store) -> None:
    pending(store)
    assert store.leases.renew_lease("bob", NEWS, "w1", TTL) is False  # never takes a free lease
    assert store.leases.begin("bob", NEWS, "w2", TTL, 3).held is True
    assert store.leases.renew_lease("bob", NEWS, "w1", TTL) is False
    assert store.leases.renew_lease("bob", NEWS, "w2", TTL) is True
    store.leases.release_lease("bob", NEWS, "w2")
    assert store.leases.renew_lease("bob", NEWS, "w2", TTL) is False


def test_release_frees_the_lease_only_for_its_holder(store: Store) -> None:
    pending(store)
    store.leases.begin("bob", NEWS, "w1", TTL, 3)
    store.leases.release_lease("bob", NEWS, "w2")
    assert store.leases.begin("bob", NEWS, "w2", TTL, 3).held is False
    store.leases.release_lease("bob", NEWS, "w1")
    assert store.leases.begin("bob", NEWS, "w2", TTL, 3).held is True
    store.leases.release_lease("bob", NEWS, "nobody")  # releasing what nobody holds is harmless


def test_a_lease_expires_after_its_ttl_and_a_renewal_extends_it(store: Store) -> None:
    pending(store)
    store.leases.begin("bob", NEWS, "w1", SHORT_TTL, 3)
    assert store.leases.renew_lease("bob", NEWS, "w1", TTL) is True
    time.sleep(3 * SHORT_TTL / 1000)
    assert store.leases.begin("bob", NEWS, "w2", TTL, 3).held is False  # the renewal kept it
    store.leases.renew_lease("bob", NEWS, "w1", SHORT_TTL)
    time.sleep(3 * SHORT_TTL / 1000)
    assert store.leases.renew_lease("bob", NEWS, "w1", TTL) is False
    assert store.leases.begin("bob", NEWS, "w2", TTL, 3).held is True


def test_leases_are_per_agent_and_stream(store: Store) -> None:
    reader(store, "ann", "#news")
    pending(store)
    store.log.append(direct_stream("bob"), body("dm"), 1000, KEEP_ALL)
    store.leases.begin("bob", NEWS, "w1", TTL, 3)
    assert store.leases.begin("ann", NEWS, "w2", TTL, 3).entry == Entry(NEWS, 1, body("m1"))
    assert store.leases.begin("bob", direct_stream("bob"), "w2", TTL, 3).entry is not None


# -- failures ------------------------------------------------------------------------------------


def test_failed_attempts_are_counted_and_shown_with_the_message(store: Store) -> None:
    pending(store)
    assert store.leases.record_failure("bob", NEWS, 1, 5_000) == 1
    assert store.leases.record_failure("bob", NEWS, 1, 7_000) == 2
    step = store.leases.begin("bob", NEWS, "w1", TTL, 3)
    assert step.failure == Failure(attempts=2, not_before_ms=7_000)
    assert step.entry is not None
    assert step.entry.seq == 1


def test_a_failure_at_another_seq_starts_counting_again(store: Store) -> None:
    pending(store)
    store.leases.record_failure("bob", NEWS, 1, 5_000)
    assert store.leases.record_failure("bob", NEWS, 2, 6_000) == 1
    assert store.leases.begin("bob", NEWS, "w1", TTL, 3).failure is None  # 2 is not next: 1 is


def test_advancing_forgets_the_failures(store: Store) -> None:
    pending(store)
    store.leases.record_failure("bob", NEWS, 1, 5_000)
    store.leases.begin("bob", NEWS, "w1", TTL, 3)
    store.leases.advance("bob", NEWS, "w1", TTL, 1, 3)
    assert store.leases.record_failure("bob", NEWS, 1, 5_000) == 1
    store.leases.record_failure("bob", NEWS, 2, 6_000)
    step = store.leases.advance("bob", NEWS, "w1", TTL, 2, 3)
    assert step.failure is None
    assert store.leases.record_failure("bob", NEWS, 3, 7_000) == 1


def test_a_failure_of_a_run_that_lost_its_lease_is_not_recorded(store: Store) -> None:
    pending(store)
    store.leases.begin("bob", NEWS, "w2", TTL, 3)  # w1's lease lapsed: w2 took the stream
    assert store.leases.record_failure("bob", NEWS, 1, 5_000, "stale", token="w1") == 0
    assert store.leases.record_failure("bob", NEWS, 1, 5_000, "w2's", token="w2") == 1
    step = store.leases.begin("bob", NEWS, "w2", TTL, 3)
    assert step.failure == Failure(attempts=1, not_before_ms=5_000)  # w1's did not count
    # Once committed, a late failure of the message counts nowhere either.
    store.leases.advance("bob", NEWS, "w2", TTL, 1, 3)
    assert store.leases.record_failure("bob", NEWS, 1, 9_000, "late", token="w2") == 0
    assert store.leases.advance("bob", NEWS, "w2", TTL, 1, 3).failure is None


def test_failures_are_per_agent_and_stream(store: Store) -> None:
    reader(store, "ann", "#news")
    pending(store)
    store.leases.record_failure("bob", NEWS, 1, 5_000)
    assert store.leases.record_failure("ann", NEWS, 1, 5_000) == 1
    assert store.leases.record_failure("bob", direct_stream("bob"), 1, 5_000) == 1
    assert store.leases.begin("ann", NEWS, "w1", TTL, 3).failure == Failure(1, 5_000)


# -- backlog -------------------------------------------------------------------------------------


def test_backlog_lists_the_streams_an_agent_is_behind_on_by_stream_id(store: Store) -> None:
    reader(store, "bob", "#news", "#quiet", "#a")
    append_many(store, NEWS, 3)
    append_many(store, direct_stream("bob"), 2)
    append_many(store, channel_stream("#a"), 1)
    store.log.claim("bob", NEWS)
    assert store.leases.backlog("bob") == [
        Lag(channel_stream("#a"), 0, 1),
        Lag(NEWS, 1, 3),
        Lag(direct_stream("bob"), 0, 2),
    ]
    while claim_any(store, "bob") is not None:
        pass
    assert store.leases.backlog("bob") == []


def test_an_agent_that_reads_nothing_has_no_backlog(store: Store) -> None:
    append_many(store, NEWS, 2)
    assert store.leases.backlog("ghost") == []
    reader(store, "bob", "#news")  # joins at the head: nothing to catch up on
    assert store.leases.backlog("bob") == []


def test_destroy_forgets_leases_and_failures(store: Store) -> None:
    pending(store)
    store.leases.begin("bob", NEWS, "w1", TTL, 3)
    store.leases.record_failure("bob", NEWS, 1, 5_000)
    store.destroy()
    pending(store)
    assert store.leases.begin("bob", NEWS, "w2", TTL, 3) == Step(True, Entry(NEWS, 1, body("m1")))
    assert store.leases.record_failure("bob", NEWS, 1, 5_000) == 1


# -- a pull reader's batches -------------------------------------------------------------------
# take: held under a lease, committed later, left to the next reader when the lease lapses.


def waiting(store: Store, count: int = 5, **kwargs: object) -> None:
    reader(store, "bob", "#news")
    append_many(store, NEWS, count, **kwargs)  # type: ignore[arg-type]


def test_take_hands_the_first_message_over_and_holds_the_rest(store: Store) -> None:
    waiting(store)
    batch = store.leases.take("bob", NEWS, "r1", TTL, 0, 3)
    assert batch == Batch(True, tuple(Entry(NEWS, seq, body(f"m{seq}")) for seq in (1, 2, 3)))
    assert store.log.position("bob", NEWS) == 1  # the first is handed over; 2 and 3 are held
    assert store.leases.take("bob", NEWS, "r2", TTL, 0, 3) == Batch(False)  # another reader waits


def test_a_batch_of_one_holds_no_lease(store: Store) -> None:
    waiting(store, 2)
    assert [entry.seq for entry in store.leases.take("bob", NEWS, "r1", TTL, 0, 1).entries] == [1]
    assert store.log.position("bob", NEWS) == 1
    assert [entry.seq for entry in store.leases.take("bob", NEWS, "r2", TTL, 0, 5).entries] == [2]
    assert store.log.position("bob", NEWS) == 2
    claimed = store.log.claim("bob", NEWS)
    assert claimed is None


def test_take_commits_then_holds_what_follows(store: Store) -> None:
    waiting(store)
    store.leases.take("bob", NEWS, "r1", TTL, 0, 3)
    batch = store.leases.take("bob", NEWS, "r1", TTL, 3, 3)
    assert [entry.seq for entry in batch.entries] == [4, 5]
    assert store.log.position("bob", NEWS) == 4
    assert store.leases.take("bob", NEWS, "r1", TTL, 1, 3).entries[0].seq == 5  # never back
    assert store.leases.take("bob", NEWS, "r1", TTL, 5, 3) == Batch(
        True
    )  # caught up: lease given up
    assert store.log.position("bob", NEWS) == 5
    append_many(store, NEWS, 1, start_ms=5000)
    assert store.leases.take("bob", NEWS, "r2", TTL, 0, 3).entries[0].seq == 6


def test_a_limit_of_zero_commits_and_gives_the_lease_up(store: Store) -> None:
    waiting(store)
    store.leases.take("bob", NEWS, "r1", TTL, 0, 3)
    assert store.leases.take("bob", NEWS, "r1", TTL, 2, 0) == Batch(True)
    assert store.log.position("bob", NEWS) == 2
    assert store.leases.take("bob", NEWS, "r2", TTL, 0, 1).entries[0].seq == 3
    assert store.log.claim("bob", NEWS) is not None  # no lease is held


def test_a_lapsed_lease_leaves_the_uncommitted_batch_to_the_next_reader(store: Store) -> None:
    waiting(store)
    store.leases.take("bob", NEWS, "r1", SHORT_TTL, 0, 3)  # hands 1 over, holds 2 and 3
    time.sleep(SHORT_TTL / 1000 + 0.05)
    assert [entry.seq for entry in store.leases.take("bob", NEWS, "r2", TTL, 0, 2).entries] == [
        2,
        3,
    ]
    # The reader that lapsed commits nothing over the new holder.
    assert store.leases.take("bob", NEWS, "r1", TTL, 3, 3) == Batch(False)
    assert store.log.position("bob", NEWS) == 2


def test_claims_pass_over_a_stream_held_under_a_lease(store: Store) -> None:
    waiting(store, 3)
    inbox = direct_stream("bob")
    store.log.append(inbox, body("dm"), 999, Retention(max_messages=10))
    store.leases.take("bob", NEWS, "r1", TTL, 0, 2)  # hands 1 over, holds 2
    assert store.log.claim("bob", NEWS) is None
    claimed = claim_any(store, "bob")
    assert claimed is not None
    assert claimed.stream == inbox
    assert claim_any(store, "bob") is None
    store.leases.take("bob", NEWS, "r1", TTL, 2, 0)
    claimed = claim_any(store, "bob")
    assert claimed is not None
    assert (claimed.stream, claimed.seq) == (NEWS, 3)


def test_take_counts_what_retention_trimmed_before_the_batch(store: Store) -> None:
    waiting(store, 6, retention=Retention(max_messages=3))
    batch = store.leases.take("bob", NEWS, "r1", TTL, 0, 10)
    assert [(entry.seq, entry.skipped) for entry in batch.entries] == [(4, 3), (5, 0), (6, 0)]


def test_take_for_a_stream_the_agent_does_not_read_holds_nothing(store: Store) -> None:
    waiting(store)
    assert store.leases.take("ghost", NEWS, "r1", TTL, 0, 3) == Batch(True)


def test_a_run_refuses_a_copy_of_a_message_whatever_the_step_read_with_it(store: Store) -> None:
    reader(store, "bob", "#news")
    original = Message(channel="#news", sender="alice", content="pay 10")
    first_body = original.model_dump_json(exclude={"seq"})
    store.log.append(NEWS, first_body, 1000, KEEP_ALL, message_id=str(original.id))
    store.log.append(NEWS, first_body, 1001, KEEP_ALL, message_id=str(original.id))
    # A copy whose body leads with another id and carries the original's last (a JSON
    # reader keeps the last): the step's index read does not fit it, the store is asked.
    led = '{"id":"' + str(uuid4()) + '",' + first_body[1:]
    store.log.append(NEWS, led, 1002, KEEP_ALL)
    seen = []
    step = store.leases.begin("bob", NEWS, "w1", TTL, 3)
    while step.entry is not None:
        entry = step.entry
        message = Message.from_json(entry.json)
        assert message.id == original.id
        refusal = copy_refusal(store, entry, message)
        seen.append((entry.seq, None if refusal is None else refusal.context["reason"]))
        step = store.leases.advance("bob", NEWS, "w1", TTL, entry.seq, 3)
    assert seen == [(1, None), (2, "replayed"), (3, "replayed")]

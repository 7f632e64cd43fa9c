"""The pull reader's batches (:meth:`~bus.store.LeaseStore.take`): held under a lease,
committed later, left to the next reader when the lease lapses."""

from __future__ import annotations

import time

from bus.channels import Retention
from bus.store import Batch, Entry, Store, direct_stream
from tests.store.support import NEWS, append_many, body, reader

TTL = 10_000
SHORT_TTL = 100


def pending(store: Store, count: int = 5, **kwargs: object) -> None:
    reader(store, "bob", "#news")
    append_many(store, NEWS, count, **kwargs)  # type: ignore[arg-type]


def test_take_hands_the_first_message_over_and_holds_the_rest(store: Store) -> None:
    pending(store)
    batch = store.leases.take("bob", NEWS, "r1", TTL, 0, 3)
    assert batch == Batch(True, tuple(Entry(NEWS, seq, body(f"m{seq}")) for seq in (1, 2, 3)))
    assert store.log.position("bob", NEWS) == 1  # the first is handed over; 2 and 3 are held
    assert store.leases.take("bob", NEWS, "r2", TTL, 0, 3) == Batch(False)  # another reader waits


def test_a_batch_of_one_holds_no_lease(store: Store) -> None:
    pending(store, 2)
    assert [entry.seq for entry in store.leases.take("bob", NEWS, "r1", TTL, 0, 1).entries] == [1]
    assert store.log.position("bob", NEWS) == 1
    assert [entry.seq for entry in store.leases.take("bob", NEWS, "r2", TTL, 0, 5).entries] == [2]
    assert store.log.position("bob", NEWS) == 2
    claimed = store.log.claim("bob", NEWS)
    assert claimed is None


def test_take_commits_then_holds_what_follows(store: Store) -> None:
    pending(store)
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
    pending(store)
    store.leases.take("bob", NEWS, "r1", TTL, 0, 3)
    assert store.leases.take("bob", NEWS, "r1", TTL, 2, 0) == Batch(True)
    assert store.log.position("bob", NEWS) == 2
    assert store.leases.take("bob", NEWS, "r2", TTL, 0, 1).entries[0].seq == 3
    assert store.log.claim("bob", NEWS) is not None  # no lease is held


def test_a_lapsed_lease_leaves_the_uncommitted_batch_to_the_next_reader(store: Store) -> None:
    pending(store)
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
    pending(store, 3)
    inbox = direct_stream("bob")
    store.log.append(inbox, body("dm"), 999, Retention(max_messages=10))
    store.leases.take("bob", NEWS, "r1", TTL, 0, 2)  # hands 1 over, holds 2
    assert store.log.claim("bob", NEWS) is None
    claimed = store.log.claim_any("bob")
    assert claimed is not None
    assert claimed.stream == inbox
    assert store.log.claim_any("bob") is None
    store.leases.take("bob", NEWS, "r1", TTL, 2, 0)
    claimed = store.log.claim_any("bob")
    assert claimed is not None
    assert (claimed.stream, claimed.seq) == (NEWS, 3)


def test_take_counts_what_retention_trimmed_before_the_batch(store: Store) -> None:
    pending(store, 6, retention=Retention(max_messages=3))
    batch = store.leases.take("bob", NEWS, "r1", TTL, 0, 10)
    assert [(entry.seq, entry.skipped) for entry in batch.entries] == [(4, 3), (5, 0), (6, 0)]


def test_take_for_a_stream_the_agent_does_not_read_holds_nothing(store: Store) -> None:
    pending(store)
    assert store.leases.take("ghost", NEWS, "r1", TTL, 0, 3) == Batch(True)

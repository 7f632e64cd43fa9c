"""The liveness part of the store contract: workers' records, and the leases of workers that are
no longer alive, which the lease steps take over at once."""

from __future__ import annotations

import time

import pytest

from bus.store import Entry, Holder, Store, lease_token, token_worker
from tests.store.support import NEWS, append_many, body, reader

TTL = 10_000
#: A liveness record short enough to watch it lapse.
SHORT = 100


def pending(store: Store, count: int = 3) -> None:
    """bob reads #news, which holds ``count`` messages he has not handled."""
    reader(store, "bob", "#news")
    append_many(store, NEWS, count)


def lapse() -> None:
    time.sleep(3 * SHORT / 1000)


def test_a_lease_token_names_its_worker() -> None:
    assert token_worker(lease_token("host/12/ab", "task/1")) == "host/12/ab"
    assert token_worker("reader-token") is None
    with pytest.raises(ValueError, match="whitespace"):
        lease_token("two words", "run")


def test_a_beat_answers_who_is_alive_and_who_stopped_lately_a_record_lapses_after_its_ttl(
    store: Store,
) -> None:
    assert store.liveness.beat("w1", TTL, ["alice"]) == {"w1": True}
    assert store.liveness.beat("w2", SHORT, ["bob"]) == {"w1": True, "w2": True}
    lapse()
    assert store.liveness.beat("w1", TTL, ["alice"]) == {"w1": True, "w2": False}
    records = {record.worker: record for record in store.liveness.workers()}
    assert records["w1"].alive
    assert records["w1"].agents == ("alice",)
    assert not records["w2"].alive
    assert records["w2"].agents == ("bob",)
    assert records["w1"].last_seen_ms > records["w2"].last_seen_ms > 0


def test_a_stopped_worker_is_not_alive_and_keeps_its_record(store: Store) -> None:
    store.liveness.beat("w1", TTL, ["alice", "bob"])
    store.liveness.stopped("w1")
    store.liveness.stopped("never-seen")  # harmless
    assert store.liveness.beat("w2", TTL, []) == {"w1": False, "w2": True}
    [first, second] = store.liveness.workers()
    assert (first.worker, first.alive, first.agents) == ("w1", False, ("alice", "bob"))
    assert (second.worker, second.alive, second.agents) == ("w2", True, ())


def test_the_lease_of_a_worker_no_longer_alive_is_taken_over_at_once(store: Store) -> None:
    pending(store)
    store.liveness.beat("dead/1/a", SHORT, ["bob"])
    assert store.leases.begin("bob", NEWS, lease_token("dead/1/a", "r1"), TTL, 3).held
    lapse()  # the worker stopped beating; its lease has TTL ms left
    step = store.leases.begin("bob", NEWS, lease_token("live/2/b", "r2"), TTL, 3)
    assert step.held
    assert step.entry == Entry(NEWS, 1, body("m1"))
    assert step.holder == Holder("dead/1/a")
    again = store.leases.begin("bob", NEWS, lease_token("live/2/b", "r2"), TTL, 3)
    assert again.holder is None  # its own lease now


def test_a_live_workers_lease_is_not_taken_and_says_who_holds_it_until_when(store: Store) -> None:
    pending(store)
    store.liveness.beat("live/1/a", TTL, ["bob"])
    assert store.leases.begin("bob", NEWS, lease_token("live/1/a", "r1"), TTL, 3).held
    step = store.leases.begin("bob", NEWS, lease_token("other/2/b", "r2"), TTL, 3)
    assert not step.held
    assert step.holder is not None
    assert step.holder.worker == "live/1/a"
    assert 0 < step.holder.expires_in_ms <= TTL


def test_a_worker_never_seen_alive_holds_no_lease_against_others(store: Store) -> None:
    pending(store)
    assert store.leases.begin("bob", NEWS, lease_token("ghost/1/a", "r1"), TTL, 3).held
    step = store.leases.begin("bob", NEWS, lease_token("live/2/b", "r2"), TTL, 3)
    assert step.held
    assert step.holder == Holder("ghost/1/a")


def test_a_late_commit_of_a_lease_taken_over_is_refused_even_if_the_new_holder_died(
    store: Store,
) -> None:
    pending(store)
    store.liveness.beat("slow/1/a", TTL, ["bob"])
    store.liveness.beat("new/2/b", SHORT, ["bob"])
    store.leases.begin("bob", NEWS, lease_token("new/2/b", "r"), TTL, 3)
    lapse()
    step = store.leases.advance("bob", NEWS, lease_token("slow/1/a", "r"), TTL, 1, 3)
    assert not step.held
    assert store.log.position("bob", NEWS) == 0


def test_a_pull_reader_takes_a_dead_workers_lease_too(store: Store) -> None:
    pending(store)
    store.liveness.beat("dead/1/a", TTL, ["bob"])
    store.leases.begin("bob", NEWS, lease_token("dead/1/a", "r1"), TTL, 3)
    assert not store.leases.take("bob", NEWS, "reader", TTL, 0, 2).held
    store.liveness.beat("dead/1/a", SHORT, ["bob"])  # its last beat
    lapse()
    batch = store.leases.take("bob", NEWS, "reader", TTL, 0, 2)
    assert batch.held
    assert [entry.seq for entry in batch.entries] == [1, 2]

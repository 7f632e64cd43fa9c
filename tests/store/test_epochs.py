"""The epochs part of the store contract: which state a store holds, adopted by a process when
it starts, and a store that lost it noticed by the steps that append and hand messages over."""

from __future__ import annotations

import pytest

from bus.errors import StoreReset
from bus.store import Store, direct_stream
from bus.store.memory import MemoryStore
from bus.store.redis import RedisStore
from tests.brokers import REDIS_URL, new_namespace, require
from tests.store.support import KEEP_ALL, body, reader

INBOX = direct_stream("bob")


def test_a_new_store_holds_no_epoch_and_checks_nothing(store: Store) -> None:
    assert store.epochs.epoch() is None
    assert store.epochs.expected is None
    store.epochs.verify()
    reader(store, "bob")
    assert store.log.append(INBOX, body("m1"), 1000, KEEP_ALL).seq == 1
    assert store.log.claim("bob", INBOX) is not None


def test_establishing_writes_one_epoch_and_adopts_it(store: Store) -> None:
    epoch = store.epochs.establish()
    assert epoch
    assert store.epochs.establish() == epoch  # the one the store holds is kept
    assert store.epochs.epoch() == store.epochs.expected == epoch
    store.epochs.verify()


def test_while_the_epoch_stays_no_watcher_is_told_and_every_step_runs(store: Store) -> None:
    told: list[StoreReset] = []
    store.epochs.watch(told.append)
    store.epochs.establish()
    reader(store, "bob")
    store.log.append(INBOX, body("m1"), 1000, KEEP_ALL)
    assert store.log.claim("bob", INBOX) is not None
    store.log.append(INBOX, body("m2"), 1001, KEEP_ALL)
    assert store.leases.begin("bob", INBOX, "w", 10_000, 2).entry is not None
    store.epochs.verify()
    assert told == []


@pytest.mark.memory
def test_a_memory_store_loses_its_epoch_only_when_destroyed() -> None:
    store = MemoryStore()
    told: list[StoreReset] = []
    store.epochs.watch(told.append)
    store.epochs.establish()
    store.destroy()
    assert (store.epochs.epoch(), store.epochs.expected) == (None, None)
    store.epochs.verify()  # nothing to check: it never loses its state by itself
    assert store.log.append(INBOX, body("m1"), 1000, KEEP_ALL).seq == 1
    assert told == []


@pytest.mark.redis
def test_a_redis_store_that_lost_its_state_refuses_until_it_adopts_the_new_epoch() -> None:
    require("redis")
    namespace = new_namespace()
    store, other = RedisStore(REDIS_URL, namespace), RedisStore(REDIS_URL, namespace)
    told: list[StoreReset] = []
    try:
        store.epochs.watch(told.append)
        first = store.epochs.establish()
        reader(store, "bob")
        other.destroy()  # as an empty restart would: every key, the epoch with them
        for _ in range(2):
            with pytest.raises(StoreReset) as refused:
                store.log.append(INBOX, body("m1"), 1000, KEEP_ALL)
            assert (refused.value.expected, refused.value.found) == (first, None)
        with pytest.raises(StoreReset):
            store.log.claim("bob", INBOX)
        with pytest.raises(StoreReset):
            store.epochs.verify()
        assert len(told) == 1, "a watcher is told once per change"
        assert store.epochs.expected == first  # nothing to adopt yet

        second = other.epochs.establish()
        with pytest.raises(StoreReset) as adopted:
            store.log.append(INBOX, body("m1"), 1000, KEEP_ALL)
        assert adopted.value.found == second
        assert store.epochs.expected == second
        assert len(told) == 2
        assert store.log.append(INBOX, body("m2"), 1001, KEEP_ALL).seq == 1
        store.epochs.verify()
    finally:
        store.destroy()
        store.close()
        other.close()

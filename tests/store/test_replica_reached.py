"""A store client that reaches a replica instead of the master (an old master back empty as a
replica, found through a sentinel that had not heard of the failover yet) reads a dataset that is
not the store's: that is ``StoreUnavailable`` (try again), never a ``StoreReset`` that would make
the process forget what it knew. A private server only."""

from __future__ import annotations

import pytest

from bus.channels import Retention
from bus.errors import BusError, StoreReset, StoreUnavailable
from bus.store.redis import RedisStore
from tests.brokers import new_namespace
from tests.support.process import free_port
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis


def test_a_script_or_check_that_reaches_a_replica_is_unavailable_not_a_reset(
    master: RedisServer,
) -> None:
    store = RedisStore(master.url, new_namespace())
    told: list[BusError] = []
    store.epochs.watch(told.append)
    adopted = store.epochs.establish()
    store.log.append("d:ops", '{"content": "on the master"}', 1, Retention())
    # The server comes back empty as the replica of a master that does not answer (yet): what
    # a client sent to the old master's address by a sentinel behind the failover finds.
    admin = master.client()
    admin.flushall()
    admin.replicaof("127.0.0.1", free_port())
    admin.close()
    try:
        with pytest.raises(StoreUnavailable, match="a replica, not the master") as refused:
            store.log.append("d:ops", '{"content": "x"}', 2, Retention())
        assert not isinstance(refused.value, StoreReset)
        with pytest.raises(StoreUnavailable, match="a replica, not the master"):
            store.epochs.verify()
        with pytest.raises(StoreUnavailable, match="a replica, not the master"):
            store.epochs.epoch()  # what a worker's recovery reads: no reset either
        with pytest.raises(StoreUnavailable, match="read only replica"):
            store.epochs.establish()  # a write: the replica refuses it
        assert (store.epochs.expected, told) == (adopted, [])  # nothing forgotten, nobody told
    finally:
        store.close()

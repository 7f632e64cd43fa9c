"""A store client that reaches a replica instead of the master (an old master back as a replica
and still syncing, found through a sentinel that had not heard of the failover yet) reads a
dataset that is not the store's: that is ``StoreUnavailable`` (try again), never a
``StoreReset`` that would make the process forget what it knew. Private servers only."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bus.channels import Retention
from bus.errors import BusError, StoreReset, StoreUnavailable
from bus.store.redis import RedisStore
from tests.brokers import new_namespace
from tests.faults.conftest import _missing
from tests.support.process import free_port
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[RedisServer]:
    """A private ``redis-server`` that is the replica of a master that never answers: empty,
    serving its (stale, empty) data as replicas do by default."""
    if shutil.which("redis-server") is None:
        _missing("redis-server is not installed")
    server = RedisServer(tmp_path, options=("--replicaof", "127.0.0.1", str(free_port())))
    try:
        yield server.start()
    finally:
        server.close()


def test_a_script_or_check_that_reaches_a_replica_is_unavailable_not_a_reset(
    replica: RedisServer,
) -> None:
    store = RedisStore(replica.url, new_namespace())
    told: list[BusError] = []
    store.epochs.watch(told.append)
    with pytest.raises(StoreUnavailable, match="read only replica"):
        store.epochs.establish()  # a write: the replica refuses it
    adopted = "e-from-the-master"
    store.epochs._watch.expected = adopted  # what the process adopted before the failover
    try:
        with pytest.raises(StoreUnavailable, match="a replica, not the master") as refused:
            store.log.append("d:ops", '{"content": "x"}', 2, Retention())
        assert not isinstance(refused.value, StoreReset)
        with pytest.raises(StoreUnavailable, match="a replica, not the master"):
            store.epochs.verify()
        assert (store.epochs.expected, told) == (adopted, [])  # nothing forgotten, nobody told
    finally:
        store.close()

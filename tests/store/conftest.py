"""The store fixture: every contract test runs on MemoryStore and on RedisStore; and a private
Redis master for the tests that replicate, fail over or flush it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bus.store import Store
from bus.store.memory import MemoryStore
from bus.store.redis import RedisStore
from tests.brokers import REDIS_URL, new_namespace, require
from tests.faults.conftest import _missing
from tests.support.redis_server import RedisServer


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


@pytest.fixture
def master(tmp_path: Path) -> Iterator[RedisServer]:
    """A private ``redis-server`` of the test's own, started as a master with no replica."""
    if shutil.which("redis-server") is None:
        _missing("redis-server is not installed")
    server = RedisServer(tmp_path)
    try:
        yield server.start()
    finally:
        server.close()

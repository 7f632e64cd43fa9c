"""The store fixture: every contract test runs on MemoryStore and on RedisStore."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bus.store import Store
from bus.store.memory import MemoryStore
from bus.store.redis import RedisStore
from tests.brokers import REDIS_URL, new_namespace, require


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

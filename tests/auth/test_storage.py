"""The auth store contract, on memory and Redis: it keeps documents, it vouches for none."""

from __future__ import annotations

import pytest

from bus.auth.storage import AuthStore, MemoryAuthStore, RedisAuthStore, open_auth_store
from tests.brokers import REDIS_URL, new_namespace, require


def test_certificates_are_kept_by_key_id(auth_store: AuthStore) -> None:
    assert auth_store.get_certificate("k1") is None
    auth_store.put_certificate("k2", '{"b": 2}')
    auth_store.put_certificate("k1", '{"a": 1}')
    assert auth_store.get_certificate("k1") == '{"a": 1}'
    assert auth_store.key_ids() == ["k1", "k2"]


def test_the_policy_is_replaced_only_from_the_version_expected(auth_store: AuthStore) -> None:
    assert auth_store.get_policy() is None
    assert not auth_store.put_policy("v1", 1, expected=3)
    assert auth_store.put_policy("v1", 1, expected=0)
    assert not auth_store.put_policy("v2", 2, expected=0)
    assert auth_store.put_policy("v2", 2, expected=1)
    assert auth_store.get_policy() == "v2"


def test_destroy_forgets_everything(auth_store: AuthStore) -> None:
    auth_store.put_certificate("k1", "{}")
    auth_store.put_policy("v1", 1, expected=0)
    auth_store.destroy()
    assert (auth_store.get_certificate("k1"), auth_store.get_policy()) == (None, None)
    assert auth_store.key_ids() == []


def test_memory_auth_stores_are_shared_within_a_process_per_namespace() -> None:
    namespace = new_namespace()
    first, second = open_auth_store("memory://", namespace), open_auth_store("memory://", namespace)
    assert isinstance(first, MemoryAuthStore)
    assert first is second
    assert open_auth_store("memory://", new_namespace()) is not first


@pytest.mark.redis
def test_a_redis_url_opens_the_redis_auth_store() -> None:
    require("redis")
    store = open_auth_store(REDIS_URL, new_namespace())
    try:
        assert isinstance(store, RedisAuthStore)
        store.put_certificate("k1", "{}")
        assert store.key_ids() == ["k1"]
    finally:
        store.destroy()
        store.close()

"""Fixtures of the auth tests: a root, credentials, and auth stores of each kind."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bus.auth import admin
from bus.auth.certificates import Credentials, Role
from bus.auth.keypairs import RootKey
from bus.auth.storage import AuthStore, MemoryAuthStore, RedisAuthStore
from bus.auth.trust import Trust
from tests.auth.hosting import hosted  # noqa: F401 (the fixture of a worker hosting agents)
from tests.brokers import REDIS_URL, new_namespace, require


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each test that uses it runs on the in-process store, then on Redis."""
    kind: str = request.param
    if kind == "redis":
        require("redis")
    return kind


@pytest.fixture
def auth_store(store_kind: str) -> Iterator[AuthStore]:
    """An empty auth store of each kind, in a namespace of its own; deleted afterwards."""
    store: AuthStore
    if store_kind == "memory":
        store = MemoryAuthStore()
    else:
        store = RedisAuthStore(REDIS_URL, new_namespace())
    try:
        yield store
    finally:
        store.destroy()
        store.close()


@pytest.fixture(scope="session")
def root() -> RootKey:
    """The operator root of the tests."""
    return RootKey.generate()


Issue = Callable[..., Credentials]


@pytest.fixture
def issue(root: RootKey, auth_store: AuthStore) -> Issue:
    """Issue credentials in the test's store: ``issue("alice")``, ``issue("ops", "operator")``."""

    def make(name: str, role: Role = "agent") -> Credentials:
        return admin.issue_credentials(root, auth_store, name, role=role)

    return make


@pytest.fixture
def alice(issue: Issue) -> Credentials:
    """An agent."""
    return issue("alice")


@pytest.fixture
def trust(root: RootKey, auth_store: AuthStore, alice: Credentials) -> Trust:
    """A verifier's trust, in the same store as the credentials (alice's issued first, so a
    policy is stored)."""
    return Trust(root.public_key_b64, auth_store, refresh_seconds=0.05)

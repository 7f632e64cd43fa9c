"""Trust: the newest root-signed policy, never an older one, refreshed within seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bus.auth import admin
from bus.auth.certificates import Credentials
from bus.auth.keypairs import RootKey
from bus.auth.policy import Policy, SignedPolicy
from bus.auth.signing import sign, verify
from bus.auth.storage import AuthStore, MemoryAuthStore, RedisAuthStore
from bus.auth.trust import Trust
from bus.channels import Stream
from bus.errors import AuthenticationFailed, ConfigurationError, StoreUnavailable
from bus.message import Message
from bus.settings import BusSettings

ENGINEERING = Stream.of_channel("#engineering")


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def post(sender: str) -> Message:
    return Message(channel="#engineering", sender=sender, content="status")


def overwrite_policy(store: AuthStore, document: SignedPolicy) -> None:
    """What a store writer does: replace the stored policy, whatever its version."""
    stored = store.get_policy()
    current = 0 if stored is None else SignedPolicy.model_validate_json(stored).policy.version
    assert store.put_policy(document.model_dump_json(), document.policy.version, current)


def test_a_revocation_reaches_a_second_trust_within_its_refresh_time(
    root: RootKey, auth_store: AuthStore, alice: Credentials
) -> None:
    clock = Clock()
    verifier = Trust(root.public_key_b64, auth_store, refresh_seconds=2, clock=clock)
    signed = sign(post("alice"), alice)
    verify(signed, ENGINEERING, verifier)
    admin.revoke_key(root, auth_store, alice.identity.key_id)  # by an operator, elsewhere
    clock.now = 1.9
    verify(signed, ENGINEERING, verifier)  # still within the period: not re-read yet
    clock.now = 2.0
    with pytest.raises(AuthenticationFailed) as caught:
        verify(signed, ENGINEERING, verifier)
    assert caught.value.reason == "revoked"


def test_the_policy_is_read_at_most_once_per_refresh_period(
    root: RootKey, auth_store: AuthStore, alice: Credentials
) -> None:
    clock = Clock()
    verifier = Trust(root.public_key, auth_store, refresh_seconds=5, clock=clock)
    assert verifier.policy.version == 1
    admin.grant(root, auth_store, "bob", "publish", "#x")
    clock.now = 4.9
    assert verifier.policy.version == 1
    clock.now = 5.0
    assert verifier.policy.version == 2


def test_an_older_signed_policy_is_refused(
    root: RootKey, auth_store: AuthStore, alice: Credentials
) -> None:
    verifier = Trust(root.public_key, auth_store, refresh_seconds=0.01)
    old = SignedPolicy.model_validate_json(auth_store.get_policy() or "")
    admin.revoke_key(root, auth_store, alice.identity.key_id)
    assert verifier.refresh().is_revoked(alice.identity.key_id)
    overwrite_policy(auth_store, old)  # a store writer rolls back to before the revocation
    assert verifier.refresh().version == 2
    with pytest.raises(AuthenticationFailed) as caught:
        verify(sign(post("alice"), alice), ENGINEERING, verifier)
    assert caught.value.reason == "revoked"


def test_a_policy_not_signed_by_the_root_is_ignored(
    root: RootKey, auth_store: AuthStore, alice: Credentials
) -> None:
    verifier = Trust(root.public_key, auth_store)
    assert verifier.policy.version == 1
    forged = SignedPolicy.sign(RootKey.generate(), Policy(version=99))
    overwrite_policy(auth_store, forged)
    assert verifier.refresh().version == 1
    # Nor can a writer change a genuine policy and keep its signature.
    genuine = SignedPolicy.sign(root, Policy(version=100, revoked=("x",)))
    altered = genuine.model_copy(
        update={"policy": genuine.policy.model_copy(update={"revoked": ()})}
    )
    overwrite_policy(auth_store, altered)
    assert verifier.refresh().version == 1


def test_without_a_signed_policy_nothing_is_trusted(root: RootKey) -> None:
    store = MemoryAuthStore()
    credentials = Credentials.issue(root, "alice")
    store.put_certificate(credentials.identity.key_id, credentials.certificate.to_json())
    with pytest.raises(AuthenticationFailed) as caught:
        verify(sign(post("alice"), credentials), ENGINEERING, Trust(root.public_key, store))
    assert caught.value.reason == "no_policy"


def test_an_expired_policy_is_refused(root: RootKey) -> None:
    store = MemoryAuthStore()
    admin.change_policy(store, root, lambda p: p.model_copy(update={"version": 1}), ttl_seconds=0.2)
    verifier = Trust(root.public_key, store, refresh_seconds=0.01)
    assert verifier.policy.version == 1
    time.sleep(0.3)
    with pytest.raises(AuthenticationFailed) as caught:
        verifier.refresh()
    assert caught.value.reason == "no_policy"
    assert "expired" in str(caught.value)


def test_a_checked_certificate_is_cached(
    root: RootKey, auth_store: AuthStore, alice: Credentials
) -> None:
    verifier = Trust(root.public_key, auth_store)
    assert verifier.identity(alice.identity.key_id) == alice.identity
    auth_store.destroy()  # a store writer deletes it: cached, still known
    assert verifier.identity(alice.identity.key_id) == alice.identity


def test_own_credentials_can_be_trusted_without_the_store(root: RootKey) -> None:
    verifier = Trust(root.public_key, MemoryAuthStore())
    credentials = Credentials.issue(root, "alice")
    assert verifier.add_certificate(credentials.certificate) == credentials.identity
    with pytest.raises(AuthenticationFailed):
        verifier.add_certificate(Credentials.issue(RootKey.generate(), "ceo").certificate)


def test_a_trust_from_settings_needs_the_root_public_key(root: RootKey) -> None:
    with pytest.raises(ConfigurationError, match="BUS_ROOT_PUBLIC_KEY"):
        Trust.from_settings(BusSettings(auth="required"), MemoryAuthStore())
    settings = BusSettings(root_public_key=root.public_key_b64, auth_refresh_seconds=1.5)
    verifier = Trust.from_settings(settings, MemoryAuthStore())
    assert verifier.refresh_seconds == 1.5


def test_expiry_in_the_past_is_refused_when_read(root: RootKey) -> None:
    store = MemoryAuthStore()
    stale = Policy(version=1, not_after=datetime.now(UTC) - timedelta(seconds=1))
    store.put_policy(SignedPolicy.sign(root, stale).model_dump_json(), 1, 0)
    with pytest.raises(AuthenticationFailed) as caught:
        _ = Trust(root.public_key, store).policy
    assert caught.value.reason == "no_policy"


@pytest.mark.redis
def test_a_store_outage_keeps_the_policy_in_force(
    root: RootKey, auth_store: AuthStore, alice: Credentials
) -> None:
    clock = Clock()
    verifier = Trust(root.public_key, auth_store, refresh_seconds=1, clock=clock)
    assert verifier.policy.version == 1
    verifier.identity(alice.identity.key_id)
    verifier.store = RedisAuthStore("redis://127.0.0.1:1/0", "nowhere")  # nothing listens
    clock.now = 5
    assert verifier.policy.version == 1
    assert verifier.identity(alice.identity.key_id) == alice.identity  # cached before
    with pytest.raises(StoreUnavailable):
        verifier.identity("k-not-cached")
    fresh = Trust(root.public_key, RedisAuthStore("redis://127.0.0.1:1/0", "nowhere"))
    for _ in range(2):  # the next use tries the store again
        with pytest.raises(StoreUnavailable):
            _ = fresh.policy

"""Operator functions: issue, revoke, grant, deny and show, through a real auth store."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bus.auth import admin
from bus.auth.certificates import Credentials
from bus.auth.keypairs import RootKey
from bus.auth.policy import Policy, SignedPolicy
from bus.auth.storage import AuthStore, MemoryAuthStore
from bus.auth.trust import Trust
from bus.errors import AuthenticationFailed, PolicyConflict, UnknownAgent
from tests.auth.conftest import Issue


def test_issued_credentials_are_stored_and_a_first_policy_with_them(
    root: RootKey, auth_store: AuthStore, tmp_path: Path
) -> None:
    credentials = admin.issue_credentials(
        root, auth_store, "ops", role="operator", path=tmp_path / "ops.json"
    )
    assert Credentials.load(tmp_path / "ops.json").certificate == credentials.certificate
    trust = Trust(root.public_key, auth_store)
    assert trust.identity(credentials.identity.key_id) == credentials.identity
    assert trust.policy == admin.current_policy(auth_store, root.public_key)
    assert trust.policy.version == 1
    assert trust.policy.channels == Policy.initial().channels


def test_a_grant_and_a_deny_reach_every_trust(
    root: RootKey, auth_store: AuthStore, alice: Credentials
) -> None:
    trust = Trust(root.public_key, auth_store, refresh_seconds=0.001)
    assert not trust.policy.allows(alice.identity, "publish", "#all-hands")
    admin.grant(root, auth_store, "alice", "publish", "#all-hands")
    assert trust.refresh().allows(alice.identity, "publish", "#all-hands")
    admin.deny(root, auth_store, "alice", "subscribe", None)
    policy = trust.refresh()
    assert policy.version == 3
    assert not policy.allows(alice.identity, "subscribe", "#engineering")


def test_revoking_an_identity_revokes_every_key_issued_for_it(
    root: RootKey, auth_store: AuthStore, issue: Issue
) -> None:
    first, second, other = issue("bob"), issue("bob"), issue("carol")
    revoked = admin.revoke_identity(root, auth_store, "bob")
    assert sorted(revoked) == sorted([first.identity.key_id, second.identity.key_id])
    policy = Trust(root.public_key, auth_store).policy
    assert policy.is_revoked(first.identity.key_id)
    assert policy.is_revoked(second.identity.key_id)
    assert not policy.is_revoked(other.identity.key_id)


def test_revoking_a_name_nobody_holds_is_an_error(root: RootKey, auth_store: AuthStore) -> None:
    with pytest.raises(UnknownAgent) as caught:
        admin.revoke_identity(root, auth_store, "ghost")
    assert caught.value.agent == "ghost"


def test_show_lists_the_policy_and_the_genuine_identities(
    root: RootKey, auth_store: AuthStore, alice: Credentials, issue: Issue
) -> None:
    ops = issue("ops", "operator")
    forged = Credentials.issue(RootKey.generate(), "ceo")
    auth_store.put_certificate(forged.identity.key_id, forged.certificate.to_json())
    admin.revoke_key(root, auth_store, alice.identity.key_id)
    shown = admin.show(auth_store, root.public_key)
    json.dumps(shown)  # ready for --json
    assert shown["policy"]["version"] == 2
    assert shown["policy"]["revoked"] == [alice.identity.key_id]
    assert [(i["name"], i["role"], i["revoked"]) for i in shown["identities"]] == [
        ("alice", "agent", True),
        ("ops", "operator", False),
    ]
    assert shown["identities"][1]["key_id"] == ops.identity.key_id


def test_show_without_a_policy_says_so(root: RootKey) -> None:
    assert admin.show(MemoryAuthStore(), root.public_key) == {"policy": None, "identities": []}


def test_a_forged_stored_policy_stops_admin_changes(root: RootKey, auth_store: AuthStore) -> None:
    forged = SignedPolicy.sign(RootKey.generate(), Policy(version=5))
    auth_store.put_policy(forged.model_dump_json(), 5, 0)
    with pytest.raises(AuthenticationFailed) as caught:
        admin.grant(root, auth_store, "alice", "publish", "#x")
    assert caught.value.reason == "bad_policy"


def test_a_change_made_meanwhile_is_kept(root: RootKey, auth_store: AuthStore) -> None:
    admin.ensure_policy(auth_store, root)

    def grant_after_someone_else(policy: Policy) -> Policy:
        if policy.version == 1:  # first attempt: another operator stores version 2 now
            admin.grant(root, auth_store, "bob", "publish", "#all-hands")
        return policy.grant("alice", "publish", "#all-hands")

    result = admin.change_policy(auth_store, root, grant_after_someone_else)
    assert result.version == 3
    assert result.channels["#all-hands"].publish == ("role:operator", "bob", "alice")


def test_a_policy_that_keeps_changing_is_a_conflict(root: RootKey, auth_store: AuthStore) -> None:
    admin.ensure_policy(auth_store, root)

    def always_raced(policy: Policy) -> Policy:
        admin.grant(root, auth_store, "bob", "publish", "#x")
        return policy.grant("alice", "publish", "#x")

    with pytest.raises(PolicyConflict) as caught:
        admin.change_policy(auth_store, root, always_raced)
    assert caught.value.attempts == admin.ATTEMPTS


def test_a_policy_can_be_issued_with_an_expiry(root: RootKey, auth_store: AuthStore) -> None:
    policy = admin.change_policy(auth_store, root, lambda p: p.revoke("k1"), ttl_seconds=3600)
    assert policy.not_after is not None
    assert Trust(root.public_key, auth_store).policy.not_after == policy.not_after


def test_an_expiring_policy_keeps_its_lifetime_through_changes_and_renewals(
    root: RootKey, auth_store: AuthStore
) -> None:
    first = admin.change_policy(auth_store, root, lambda p: p.revoke("k1"), ttl_seconds=3600)
    granted = admin.grant(root, auth_store, "bob", "publish", "#x")
    renewed = admin.renew_policy(auth_store, root)
    for policy in (first, granted, renewed):
        assert policy.not_after is not None
        assert policy.not_after - policy.issued_at == timedelta(seconds=3600)
    assert renewed.version == granted.version + 1
    assert renewed.channels == granted.channels
    assert renewed.revoked == ("k1",)

"""What an operator does, as functions the CLI (``bus auth ...``) calls.

Everything that changes trust needs the root key: issuing credentials signs a certificate, and
every permission change or revocation signs a new version of the policy. The store only carries
the results.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bus.auth.certificates import Certificate, Credentials, Role
from bus.auth.keypairs import Ed25519PublicKey, RootKey
from bus.auth.policy import Action, Policy, SignedPolicy
from bus.auth.storage import AuthStore
from bus.errors import AuthenticationFailed, PolicyConflict, UnknownAgent

#: Times a policy change is retried when another operator changed the policy meanwhile.
ATTEMPTS = 5


def create_root(path: str | os.PathLike[str]) -> RootKey:
    """Make a new root key pair and write it to ``path`` (a new file, mode 0600).

    Returns:
        The key pair; its :attr:`~bus.auth.keypairs.RootKey.public_key_b64` is what every process
        needs as ``BUS_ROOT_PUBLIC_KEY``.

    Raises:
        FileExistsError: ``path`` exists (a root key is never overwritten).
    """
    root = RootKey.generate()
    root.save(path)
    return root


def current_policy(store: AuthStore, root_public_key: Ed25519PublicKey) -> Policy | None:
    """The stored policy, checked against the root; ``None`` if none is stored.

    Raises:
        AuthenticationFailed: ``reason='bad_policy'``: the stored policy is not the root's.
    """
    document = store.get_policy()
    if document is None:
        return None
    try:
        signed = SignedPolicy.model_validate_json(document)
    except ValueError as exc:
        raise AuthenticationFailed(
            f"the stored policy is malformed: {exc}", reason="bad_policy"
        ) from None
    return signed.check(root_public_key)


def change_policy(
    store: AuthStore,
    root: RootKey,
    change: Callable[[Policy], Policy],
    *,
    ttl_seconds: float | None = None,
) -> Policy:
    """Apply ``change`` to the stored policy (the initial one if none is), sign the result and
    store it, unless another change was stored meanwhile (then start again).

    Args:
        change: returns the new policy (one version higher: use the :class:`Policy` methods).
        ttl_seconds: give the new policy an expiry this far after its issue (``None``: the
            lifetime the stored policy had, if it had one).

    Returns:
        The stored policy.

    Raises:
        AuthenticationFailed: the stored policy is not signed by ``root``.
        PolicyConflict: the policy changed under every one of :data:`ATTEMPTS` tries.
    """
    for _ in range(ATTEMPTS):
        current = current_policy(store, root.public_key)
        base = current if current is not None else Policy.initial()
        updated = change(base)
        lifetime = None if ttl_seconds is None else timedelta(seconds=ttl_seconds)
        if lifetime is None and base.not_after is not None:
            lifetime = base.not_after - base.issued_at  # an expiring policy keeps expiring
        if lifetime is not None:
            updated = updated.with_expiry(updated.issued_at + lifetime)
        document = SignedPolicy.sign(root, updated).model_dump_json(exclude_none=True)
        expected = 0 if current is None else current.version
        if store.put_policy(document, updated.version, expected):
            return updated
    raise PolicyConflict(f"the policy changed under {ATTEMPTS} attempts", attempts=ATTEMPTS)


def renew_policy(store: AuthStore, root: RootKey, ttl_seconds: float | None = None) -> Policy:
    """Sign the stored policy again, one version higher and unchanged otherwise: what an
    operator runs before an expiring policy lapses."""
    return change_policy(store, root, Policy.renewed, ttl_seconds=ttl_seconds)


def ensure_policy(store: AuthStore, root: RootKey) -> Policy:
    """The stored policy; if there is none, store :meth:`Policy.initial` as version 1."""
    current = current_policy(store, root.public_key)
    if current is not None:
        return current
    return change_policy(store, root, lambda policy: policy.model_copy(update={"version": 1}))


def issue_credentials(
    root: RootKey,
    store: AuthStore,
    name: str,
    *,
    role: Role = "agent",
    path: str | os.PathLike[str] | None = None,
    not_after: datetime | None = None,
) -> Credentials:
    """Make credentials for an agent or operator: a key pair and its root-signed certificate,
    stored so verifiers find it, and written to ``path`` (a new file, mode 0600) if given.

    A policy is stored too if there is none yet, so the new identity can be verified at once.

    Raises:
        FileExistsError: ``path`` exists.
    """
    credentials = Credentials.issue(root, name, role=role, not_after=not_after)
    if path is not None:
        credentials.save(path)
    store.put_certificate(credentials.identity.key_id, credentials.certificate.to_json())
    ensure_policy(store, root)
    return credentials


def certificates(store: AuthStore, root_public_key: Ed25519PublicKey) -> list[Certificate]:
    """The stored certificates the root signed (forged ones are left out), by name."""
    found = []
    for key_id in store.key_ids():
        stored = store.get_certificate(key_id)
        if stored is None:
            continue
        try:
            certificate = Certificate.from_json(stored)
            if certificate.check(root_public_key).key_id == key_id:
                found.append(certificate)
        except AuthenticationFailed:
            continue
    return sorted(found, key=lambda c: (c.identity.name, c.identity.issued_at))


def revoke_key(root: RootKey, store: AuthStore, key_id: str) -> Policy:
    """Revoke one key."""
    return change_policy(store, root, lambda policy: policy.revoke(key_id))


def revoke_identity(root: RootKey, store: AuthStore, name: str) -> list[str]:
    """Revoke every key certified for ``name``.

    Returns:
        The key ids revoked.

    Raises:
        UnknownAgent: no certificate names ``name``.
    """
    key_ids = [
        c.identity.key_id for c in certificates(store, root.public_key) if c.identity.name == name
    ]
    if not key_ids:
        raise UnknownAgent(f"no credentials were issued for {name!r}", agent=name)

    change_policy(store, root, lambda policy: policy.revoke(*key_ids))
    return key_ids


def grant(
    root: RootKey, store: AuthStore, principal: str, action: Action, channel: str | None
) -> Policy:
    """Let ``principal`` do ``action`` on ``channel`` (``None``: the default rule)."""
    return change_policy(store, root, lambda policy: policy.grant(principal, action, channel))


def deny(
    root: RootKey, store: AuthStore, principal: str, action: Action, channel: str | None
) -> Policy:
    """Stop ``principal`` doing ``action`` on ``channel`` (``None``: the default rule)."""
    return change_policy(store, root, lambda policy: policy.deny(principal, action, channel))


def show(store: AuthStore, root_public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The policy and the identities, as a dict for ``--json`` (``policy`` is ``None`` if none
    is stored)."""
    policy = current_policy(store, root_public_key)
    revoked = set() if policy is None else set(policy.revoked)
    return {
        "policy": None if policy is None else policy.model_dump(mode="json", exclude_none=True),
        "identities": [
            {
                **c.identity.model_dump(mode="json", exclude_none=True, exclude={"public_key"}),
                "revoked": c.identity.key_id in revoked,
            }
            for c in certificates(store, root_public_key)
        ],
    }

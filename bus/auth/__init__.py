"""Identity and access: who may speak as whom, who may do what, how fast (docs/security.md).

Layer 2 (store and broker side): it imports only primitives and the store. The publisher, the
consumers and the registry call it; it calls none of them.

- :mod:`bus.auth.keypairs`: Ed25519 keys, key ids, the root key pair.
- :mod:`bus.auth.certificates`: identities, root-signed certificates, credentials files.
- :mod:`bus.auth.signing`: :func:`sign` and :func:`verify` of messages.
- :mod:`bus.auth.policy`: per-channel permissions and revocations, root-signed and versioned.
- :mod:`bus.auth.trust`: :class:`Trust`, what one process believes, refreshed every few seconds.
- :mod:`bus.auth.storage`: where certificates and the policy are kept (nothing there is trusted).
- :mod:`bus.auth.quota`: per-identity publish token buckets.
- :mod:`bus.auth.admin`: what an operator does (``bus auth ...``).
- :mod:`bus.auth.provision`: a fleet's credentials in one idempotent step (``bus auth setup``).
- :mod:`bus.auth.signed_guard`: :class:`SignedGuard`, the :class:`bus.access.guard.Guard` of
  ``BUS_AUTH=required``, which the publisher, consumers and registry call.
"""

from __future__ import annotations

from bus.auth.certificates import Certificate, Credentials, Identity, Role
from bus.auth.keypairs import RootKey, load_root_public_key
from bus.auth.policy import Action, Policy, Rule, SignedPolicy
from bus.auth.quota import Buckets, PublishQuota, open_buckets
from bus.auth.signing import sign, signed_bytes, verify
from bus.auth.storage import AuthStore, open_auth_store
from bus.auth.trust import Trust

__all__ = [
    "Action",
    "AuthStore",
    "Buckets",
    "Certificate",
    "Credentials",
    "Identity",
    "Policy",
    "PublishQuota",
    "Role",
    "RootKey",
    "Rule",
    "SignedPolicy",
    "Trust",
    "load_root_public_key",
    "open_auth_store",
    "open_buckets",
    "sign",
    "signed_bytes",
    "verify",
]

"""Trust: what a process believes, anchored in the root public key from its configuration.

A :class:`Trust` holds the root key, the newest root-signed policy it has read from the store
(never an older one than it has seen) and a cache of the certificates it has checked. It
re-reads the policy at most :attr:`Trust.refresh_seconds` apart, on use, so a revocation reaches
a running process within that time without a background thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import ValidationError
from redis.exceptions import RedisError

from bus.auth.certificates import Certificate, Identity
from bus.auth.keypairs import Ed25519PublicKey, load_root_public_key
from bus.auth.policy import Policy, SignedPolicy
from bus.auth.storage import AuthStore
from bus.errors import AuthenticationFailed, ConfigurationError, StoreUnavailable
from bus.settings import BusSettings

log = logging.getLogger(__name__)


class Trust:
    """The root key, the current policy and the checked certificates of one process.

    Safe to share between threads.
    """

    def __init__(
        self,
        root_public_key: Ed25519PublicKey | str,
        store: AuthStore,
        *,
        refresh_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Args:
        root_public_key: the key, or ``BUS_ROOT_PUBLIC_KEY``'s value (base64 or a path).
        store: where certificates and the policy are read from (and nothing is trusted).
        refresh_seconds: longest time between two reads of the policy.
        clock: monotonic seconds (tests pass their own).

        Raises:
            ConfigurationError: ``root_public_key`` is not a key.
        """
        if isinstance(root_public_key, str):
            root_public_key = load_root_public_key(root_public_key)
        self.root_public_key = root_public_key
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._policy: Policy | None = None
        self._read_at: float | None = None
        self._certificates: dict[str, Identity] = {}

    @classmethod
    def from_settings(cls, settings: BusSettings, store: AuthStore) -> Trust:
        """A trust from :class:`bus.settings.schema.BusSettings` (``root_public_key``,
        ``auth_refresh_seconds``).

        Raises:
            ConfigurationError: no root public key is configured.
        """
        value = settings.root_public_key
        if not value:
            raise ConfigurationError(
                "BUS_AUTH=required needs BUS_ROOT_PUBLIC_KEY", setting="root_public_key"
            )
        return cls(value, store, refresh_seconds=settings.auth_refresh_seconds)

    # -- the policy ---------------------------------------------------------------------------

    @property
    def policy(self) -> Policy:
        """The current policy, re-read from the store if the last read is older than
        :attr:`refresh_seconds`.

        Raises:
            AuthenticationFailed: ``reason='no_policy'``: no valid, unexpired signed policy was
                ever read (everything is refused until an operator publishes one).
            StoreUnavailable: the store does not answer and no policy was read before.
        """
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self.refresh_seconds:
                self._load()  # raises only while nothing was read: try again next time
                self._read_at = now
            policy = self._policy
        if policy is None:
            raise AuthenticationFailed(
                "no valid signed policy in the store: nothing can be trusted", reason="no_policy"
            )
        if policy.not_after is not None and datetime.now(UTC) > policy.not_after:
            raise AuthenticationFailed(
                f"the policy (version {policy.version}) expired at {policy.not_after}",
                reason="no_policy",
                version=policy.version,
            )
        return policy

    def refresh(self) -> Policy:
        """Read the policy now, whatever the time since the last read; see :attr:`policy`."""
        with self._lock:
            self._read_at = None
        return self.policy

    def _load(self) -> None:
        """Adopt the stored policy if it is signed, unexpired and not older than the current.

        A store that does not answer leaves the current policy in force until the next read
        (a revocation is then late by the outage); with none read yet, it is an error.
        """
        try:
            document = self.store.get_policy()
        except (RedisError, OSError, StoreUnavailable) as exc:
            if self._policy is None:
                raise StoreUnavailable(
                    f"cannot read the policy from the store: {exc}", reason=str(exc)
                ) from None
            log.warning("keeping policy version %d: %s", self._policy.version, exc)
            return
        if document is None:
            return
        try:
            policy = SignedPolicy.model_validate_json(document).check(self.root_public_key)
        except (ValidationError, AuthenticationFailed) as exc:
            log.warning("ignoring the stored policy: %s", exc)
            return
        current = self._policy
        if current is not None and policy.version <= current.version:
            if policy.version < current.version:
                log.warning(
                    "ignoring policy version %d: version %d was seen (roll-back refused)",
                    policy.version,
                    current.version,
                )
            return
        if policy.not_after is not None and datetime.now(UTC) > policy.not_after:
            log.warning(
                "ignoring policy version %d: expired at %s", policy.version, policy.not_after
            )
            return
        self._policy = policy

    # -- certificates -------------------------------------------------------------------------

    def add_certificate(self, certificate: Certificate) -> Identity:
        """Check a certificate held locally (one's own credentials') and cache it.

        Raises:
            AuthenticationFailed: ``reason='bad_certificate'``: not signed by the root.
        """
        identity = certificate.check(self.root_public_key)
        with self._lock:
            self._certificates[identity.key_id] = identity
        return identity

    def identity(self, key_id: str) -> Identity:
        """The root-certified identity of ``key_id``, from the cache or the store.

        Whether it is revoked or expired is :func:`bus.auth.signing.verify`'s concern.

        Raises:
            AuthenticationFailed: ``reason='unknown_key'``: no certificate is stored for it;
                ``reason='bad_certificate'``: the stored one is not the root's, or is for
                another key.
            StoreUnavailable: it is not cached and the store does not answer.
        """
        with self._lock:
            cached = self._certificates.get(key_id)
        if cached is not None:
            return cached
        try:
            stored = self.store.get_certificate(key_id)
        except (RedisError, OSError, StoreUnavailable) as exc:
            raise StoreUnavailable(
                f"cannot read the certificate of {key_id} from the store: {exc}", key_id=key_id
            ) from None
        if stored is None:
            raise AuthenticationFailed(
                f"no certificate for key {key_id}", reason="unknown_key", key_id=key_id
            )
        identity = Certificate.from_json(stored).check(self.root_public_key)
        if identity.key_id != key_id:
            raise AuthenticationFailed(
                f"the certificate stored under {key_id} is for key {identity.key_id}",
                reason="bad_certificate",
                key_id=key_id,
            )
        with self._lock:
            self._certificates[key_id] = identity
        return identity

"""Where signed auth documents live: certificates by key id, and the one policy document.

Nothing here is trusted: whoever can write the store can write these keys. Every reader checks
the root's signature (:class:`bus.auth.trust.Trust`); the store only makes documents findable.
:func:`open_auth_store` picks the implementation by URL scheme, like :func:`bus.store.open_store`.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol, cast

from bus.auth.keyspace import RedisKeyspace, scan_pattern
from bus.settings.transports import store_in_process
from bus.store.redis.key_names import Keys

#: Key prefix of everything auth keeps, after the namespace's ``{<namespace>}:`` (its hash tag:
#: the keys share the store's slot and :meth:`bus.Bus.destroy` removes them with the rest).
AUTH_PREFIX = "auth:"


def auth_prefix(namespace: str) -> str:
    """What every auth key of ``namespace`` starts with."""
    return Keys(namespace).prefix + AUTH_PREFIX


# KEYS[1]: the policy hash {version, document}. ARGV: expected version (0: none yet), new
# version, new document. Compare-and-set, so two operators editing at once lose nothing.
PUT_POLICY = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'document', ARGV[3])
return 1
"""


class AuthStore(Protocol):
    """Certificates and the policy document, as the store keeps them (unverified JSON)."""

    def get_certificate(self, key_id: str) -> str | None:
        """The certificate JSON stored under ``key_id``, or ``None``."""

    def put_certificate(self, key_id: str, certificate: str) -> None:
        """Store a certificate's JSON under its key id."""

    def key_ids(self) -> list[str]:
        """The key ids certificates are stored under, sorted."""

    def get_policy(self) -> str | None:
        """The stored policy document's JSON, or ``None``."""

    def put_policy(self, document: str, version: int, expected: int) -> bool:
        """Store ``document`` (of ``version``) if the stored one has version ``expected`` (0:
        none is stored); ``False`` if another was stored meanwhile."""

    def destroy(self) -> None:
        """Delete everything auth keeps in this namespace."""

    def close(self) -> None:
        """Release connections."""


class MemoryAuthStore:
    """An :class:`AuthStore` in this process's memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._certificates: dict[str, str] = {}
        self._policy: tuple[int, str] | None = None

    def get_certificate(self, key_id: str) -> str | None:
        """See :meth:`AuthStore.get_certificate`."""
        with self._lock:
            return self._certificates.get(key_id)

    def put_certificate(self, key_id: str, certificate: str) -> None:
        """See :meth:`AuthStore.put_certificate`."""
        with self._lock:
            self._certificates[key_id] = certificate

    def key_ids(self) -> list[str]:
        """See :meth:`AuthStore.key_ids`."""
        with self._lock:
            return sorted(self._certificates)

    def get_policy(self) -> str | None:
        """See :meth:`AuthStore.get_policy`."""
        with self._lock:
            return None if self._policy is None else self._policy[1]

    def put_policy(self, document: str, version: int, expected: int) -> bool:
        """See :meth:`AuthStore.put_policy`."""
        with self._lock:
            current = 0 if self._policy is None else self._policy[0]
            if current != expected:
                return False
            self._policy = (version, document)
            return True

    def destroy(self) -> None:
        """See :meth:`AuthStore.destroy`."""
        with self._lock:
            self._certificates.clear()
            self._policy = None

    def close(self) -> None:
        """Nothing to release."""


class RedisAuthStore(RedisKeyspace):
    """An :class:`AuthStore` in Redis, under ``{<namespace>}:auth:``."""

    def __init__(self, url: str, namespace: str, sentinel_master: str | None = None) -> None:
        super().__init__(url, auth_prefix(namespace), sentinel_master)
        self._policy_key = self._prefix + "policy"
        self._put_policy = self._redis.register_script(PUT_POLICY)

    def _certificate_key(self, key_id: str) -> str:
        return f"{self._prefix}cert:{key_id}"

    def get_certificate(self, key_id: str) -> str | None:
        """See :meth:`AuthStore.get_certificate`."""
        return cast(str | None, self._redis.get(self._certificate_key(key_id)))

    def put_certificate(self, key_id: str, certificate: str) -> None:
        """See :meth:`AuthStore.put_certificate`."""
        self._redis.set(self._certificate_key(key_id), certificate)

    def key_ids(self) -> list[str]:
        """See :meth:`AuthStore.key_ids`."""
        start = len(self._prefix + "cert:")
        keys = self._redis.scan_iter(match=scan_pattern(self._prefix + "cert:"), count=1000)
        return sorted(key[start:] for key in keys)

    def get_policy(self) -> str | None:
        """See :meth:`AuthStore.get_policy`."""
        return cast(str | None, self._redis.hget(self._policy_key, "document"))

    def put_policy(self, document: str, version: int, expected: int) -> bool:
        """See :meth:`AuthStore.put_policy`."""
        done: Any = self._put_policy(keys=[self._policy_key], args=[expected, version, document])
        return bool(done)


_memory_stores: dict[str, MemoryAuthStore] = {}
_memory_lock = threading.Lock()


def open_auth_store(url: str, namespace: str, sentinel_master: str | None = None) -> AuthStore:
    """Open the auth documents of the store at ``url`` (as resolved by
    :func:`bus.settings.urls.resolve_store_url`).

    Like the in-process store, ``memory://`` is shared by everything in the process that uses
    the same namespace, so a publisher and an embedded worker see the same certificates.
    """
    if store_in_process(url):
        with _memory_lock:
            store = _memory_stores.get(namespace)
            if store is None:
                store = _memory_stores[namespace] = MemoryAuthStore()
            return store
    return RedisAuthStore(url, namespace, sentinel_master)

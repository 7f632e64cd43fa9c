"""A part of the store's Redis that auth keeps under a prefix: its client, its teardown.

The client is the store's own (:func:`bus.store.redis.connection.connect`), so a Redis that does not
answer is a :class:`~bus.errors.StoreUnavailable` here too, never a raw redis error.
"""

from __future__ import annotations

from bus.store.redis.connection import StoreClient, connect


def scan_pattern(prefix: str) -> str:
    """A SCAN pattern for the keys starting with ``prefix`` (glob characters escaped)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"


class RedisKeyspace:
    """The keys under ``prefix`` in the Redis at ``url`` (a ``sentinel://`` URL: the master the
    sentinels name for ``sentinel_master``)."""

    def __init__(self, url: str, prefix: str, sentinel_master: str | None = None) -> None:
        self._redis: StoreClient = connect(url, sentinel_master)
        self._prefix = prefix

    def destroy(self) -> None:
        """Delete every key under the prefix."""
        keys = list(self._redis.scan_iter(match=scan_pattern(self._prefix), count=1000))
        if keys:
            self._redis.delete(*keys)

    def close(self) -> None:
        """Close the connection pool."""
        self._redis.close()

"""Where a bus keeps its state; :func:`open_store` picks the implementation by URL scheme."""

from __future__ import annotations

from bus.store.base import Store, channel_stream, direct_stream


def open_store(url: str, namespace: str) -> Store:
    """Open the store at ``url`` (``memory://`` or ``redis://``/``rediss://``/``unix://``).

    The scheme is checked by :func:`bus.urls.resolve_store_url`; the Redis client is imported
    only when used.
    """
    if url.startswith("memory://"):
        from bus.store.memory import MemoryStore

        return MemoryStore()
    from bus.store.redis import RedisStore

    return RedisStore(url, namespace)


__all__ = ["Store", "channel_stream", "direct_stream", "open_store"]

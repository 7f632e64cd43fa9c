"""The reply boxes of :class:`~bus.store.redis.RedisStore` (:class:`~bus.store.base.Replies`)."""

from __future__ import annotations

from typing import Any, cast

from bus.store.client import StoreClient
from bus.store.keys import Keys
from bus.store.results import REPLY_KEEP_MS


class RedisReplies:
    """Request/reply boxes in Redis; mixed into the store, whose client and ``_run`` it uses."""

    _keys: Keys
    _redis: StoreClient

    def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        raise NotImplementedError  # the store's

    def open_reply(self, correlation_id: str, responder: str, ttl_ms: int) -> None:
        self._redis.set(self._keys.waiter(correlation_id), responder, px=ttl_ms)

    def put_reply(self, correlation_id: str, sender: str, body: str) -> bool:
        keys = self._keys
        return bool(
            self._run(
                "put_reply",
                [keys.waiter(correlation_id), keys.reply(correlation_id)],
                [sender, body, REPLY_KEEP_MS],
            )
        )

    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        key = self._keys.reply(correlation_id)
        if timeout <= 0:  # BLPOP's 0 would mean "forever"
            return cast(str | None, self._redis.lpop(key))
        popped = self._redis.blpop([key], timeout=timeout)
        return None if popped is None else cast(list[str], popped)[1]

    def close_reply(self, correlation_id: str) -> None:
        self._redis.delete(self._keys.waiter(correlation_id), self._keys.reply(correlation_id))

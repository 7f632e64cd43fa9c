"""Reply boxes in this process's memory, expiring like Redis keys do."""

from __future__ import annotations

import threading
import time
from collections import deque

from bus.store.base import Replies
from bus.store.results import REPLY_KEEP_MS


class MemoryReplies(Replies):
    """The :class:`~bus.store.base.Replies` part of :class:`~bus.store.memory.MemoryStore`.

    A box open for a responder expires ``ttl_ms`` after :meth:`open_reply`, and a reply that
    arrived ``REPLY_KEEP_MS`` after the last :meth:`put_reply`, as the Redis keys do.
    """

    def __init__(self) -> None:
        self._replies_changed = threading.Condition(threading.Lock())
        #: correlation id -> (responder, expires at, monotonic seconds)
        self._waiters: dict[str, tuple[str, float]] = {}
        #: correlation id -> (replies that arrived, expires at)
        self._boxes: dict[str, tuple[deque[str], float]] = {}

    def _forget_replies(self) -> None:
        with self._replies_changed:
            self._waiters.clear()
            self._boxes.clear()

    def _drop_expired(self, now: float) -> None:
        for table in (self._waiters, self._boxes):
            for key in [key for key, value in table.items() if value[1] <= now]:
                del table[key]

    def open_reply(self, correlation_id: str, responder: str, ttl_ms: int) -> None:
        now = time.monotonic()
        with self._replies_changed:
            self._drop_expired(now)  # boxes nobody closed go, as their Redis keys would
            self._waiters[correlation_id] = (responder, now + ttl_ms / 1000)

    def put_reply(self, correlation_id: str, sender: str, body: str) -> bool:
        now = time.monotonic()
        with self._replies_changed:
            waiter = self._waiters.get(correlation_id)
            if waiter is None or waiter[1] <= now or waiter[0] != sender:
                return False
            box = self._boxes.get(correlation_id)
            replies = deque() if box is None or box[1] <= now else box[0]
            replies.append(body)
            self._boxes[correlation_id] = (replies, now + REPLY_KEEP_MS / 1000)
            self._replies_changed.notify_all()
            return True

    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._replies_changed:
            while True:
                now = time.monotonic()
                box = self._boxes.get(correlation_id)
                if box is not None and box[1] > now:
                    body = box[0].popleft()
                    if not box[0]:
                        del self._boxes[correlation_id]  # an empty Redis list is no key
                    return body
                if now >= deadline:
                    return None
                self._replies_changed.wait(deadline - now)

    def close_reply(self, correlation_id: str) -> None:
        with self._replies_changed:
            self._waiters.pop(correlation_id, None)
            self._boxes.pop(correlation_id, None)

"""The reply part of :class:`~bus.store.memory.MemoryStore` (see
:class:`~bus.store.contracts.replies.ReplyStore`): boxes expiring like Redis keys do."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

from bus.store.contracts.replies import ReplyStore
from bus.store.memory.tables import MemoryTables
from bus.store.results import ANSWER_KEEP_MS, REPLY_KEEP_MS


class MemoryReplies(ReplyStore):
    """Request/reply boxes in memory.

    A box open for a responder expires ``ttl_ms`` after :meth:`open_reply`, and a reply that
    arrived ``REPLY_KEEP_MS`` after the last :meth:`put_reply`, as the Redis keys do.

    Args:
        tables: The store's state (its reply boxes, under their own condition).
    """

    def __init__(self, tables: MemoryTables) -> None:
        self._tables = tables

    def _drop_expired(self, now: float) -> None:
        for table in (self._tables.waiters, self._tables.boxes):
            for key in [key for key, value in table.items() if value[1] <= now]:
                del table[key]

    def _drop_old_answers(self, now: float) -> None:
        """Drop the kept replies whose day is over: they were kept in the order they expire (a
        cause answered again keeps its place, so it may stay a little longer)."""
        tables = self._tables
        for table in (tables.answers, tables.answer_of):
            while table:
                oldest = next(iter(table))
                if table[oldest][1] > now:
                    break
                del table[oldest]

    def open_reply(self, correlation_id: str, responder: str, ttl_ms: int) -> None:
        now = time.monotonic()
        with self._tables.replies_changed:
            self._drop_expired(now)  # boxes nobody closed go, as their Redis keys would
            self._tables.waiters[correlation_id] = (responder, now + ttl_ms / 1000)

    def put_reply(
        self,
        correlation_id: str,
        sender: str,
        body: str,
        kept: tuple[str, str] | None = None,
    ) -> bool:
        now, tables = time.monotonic(), self._tables
        with tables.replies_changed:
            waiter = tables.waiters.get(correlation_id)
            if waiter is None or waiter[1] <= now or waiter[0] != sender:
                return False
            box = tables.boxes.get(correlation_id)
            replies = deque() if box is None or box[1] <= now else box[0]
            replies.append(body)
            tables.boxes[correlation_id] = (replies, now + REPLY_KEEP_MS / 1000)
            if kept is not None:
                self._drop_old_answers(now)
                reply_id, cause = kept
                until = now + ANSWER_KEEP_MS / 1000
                known = tables.answers.get(cause)
                answers = deque() if known is None or known[1] <= now else known[0]
                answers.append(body)
                tables.answers[cause] = (answers, until)
                tables.answer_of[reply_id] = (cause, until)
            tables.replies_changed.notify_all()
            return True

    def answers(self, causes: Sequence[str]) -> dict[str, list[str]]:
        now, tables = time.monotonic(), self._tables
        with tables.replies_changed:
            self._drop_old_answers(now)
            known = {cause: tables.answers.get(cause) for cause in causes}
            return {
                cause: [] if kept is None or kept[1] <= now else list(kept[0])
                for cause, kept in known.items()
            }

    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        deadline, tables = time.monotonic() + max(timeout, 0.0), self._tables
        with tables.replies_changed:
            while True:
                now = time.monotonic()
                box = tables.boxes.get(correlation_id)
                if box is not None and box[1] > now:
                    body = box[0].popleft()
                    if not box[0]:
                        del tables.boxes[correlation_id]  # an empty Redis list is no key
                    return body
                if now >= deadline:
                    return None
                tables.replies_changed.wait(deadline - now)

    def close_reply(self, correlation_id: str) -> None:
        with self._tables.replies_changed:
            self._tables.waiters.pop(correlation_id, None)
            self._tables.boxes.pop(correlation_id, None)

    def cause_of(self, reply_id: str) -> str | None:
        now, tables = time.monotonic(), self._tables
        with tables.replies_changed:
            known = tables.answer_of.get(reply_id)
            return None if known is None or known[1] <= now else known[0]

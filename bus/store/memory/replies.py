"""The reply part of :class:`~bus.store.memory.MemoryStore` (see
:class:`~bus.store.contracts.replies.ReplyStore`): boxes expiring like Redis keys do."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

from bus.errors import BusError
from bus.store.contracts.guards import Checks, refusal_words
from bus.store.contracts.replies import Replied, ReplyStore
from bus.store.memory.guards import clock_ms, run_checks
from bus.store.memory.tables import MemoryTables
from bus.store.results import ANSWERS_KEPT, REPLY_KEEP_MS


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
        checks: Checks | None = None,
        kept: tuple[str, str] | None = None,
    ) -> Replied:
        now, tables = time.monotonic(), self._tables
        # The store's lock first (the guards' state is under it), as clear() takes them.
        with tables.lock, tables.replies_changed:
            waiter = tables.waiters.get(correlation_id)
            if waiter is None or waiter[1] <= now or waiter[0] != sender:
                return Replied(False)
            closed, refusal = False, None
            if checks is not None:
                try:
                    closed = run_checks(tables, checks, [], True, clock_ms())[1]
                except BusError as exc:
                    refusal, body = exc, refusal_words(exc)  # the waiter wakes to the refusal
            box = tables.boxes.get(correlation_id)
            replies = deque() if box is None or box[1] <= now else box[0]
            replies.append(body)
            tables.boxes[correlation_id] = (replies, now + REPLY_KEEP_MS / 1000)
            if kept is not None and refusal is None:
                self._keep(*kept, body)
            tables.replies_changed.notify_all()
            if refusal is not None:
                raise refusal
            return Replied(True, closed)

    def _keep(self, reply_id: str, cause: str, body: str) -> None:
        """Keep a reply under its cause, dropping the oldest beyond :data:`ANSWERS_KEPT`
        (with the store's lock held)."""
        tables = self._tables
        tables.answers.setdefault(cause, []).append(body)
        tables.answer_of[reply_id] = cause
        tables.answered.append((cause, reply_id))
        while len(tables.answered) > ANSWERS_KEPT:
            old_cause, old_reply = tables.answered.popleft()
            tables.answers.pop(old_cause, None)
            tables.answer_of.pop(old_reply, None)

    def waiting(self, correlation_id: str) -> bool:
        with self._tables.replies_changed:
            waiter = self._tables.waiters.get(correlation_id)
            return waiter is not None and waiter[1] > time.monotonic()

    def answers(self, causes: Sequence[str]) -> dict[str, list[str]]:
        with self._tables.replies_changed:
            return {cause: list(self._tables.answers.get(cause, ())) for cause in causes}

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
        with self._tables.replies_changed:
            return self._tables.answer_of.get(reply_id)

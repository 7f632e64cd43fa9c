"""The reply part of :class:`~bus.store.redis.RedisStore` (see
:class:`~bus.store.contracts.replies.ReplyStore`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from redis.exceptions import ResponseError

from bus.store.contracts.guards import Checks
from bus.store.contracts.replies import Replied, ReplyStore
from bus.store.redis.guards import checks_args, guard_error
from bus.store.redis.namespace import RedisNamespace
from bus.store.results import ANSWERS_KEPT, REPLY_KEEP_MS


class RedisReplies(ReplyStore):
    """Request/reply boxes in Redis: a waiter key names who may reply, a list holds replies.

    Args:
        space: The store's namespace on its server.
    """

    def __init__(self, space: RedisNamespace) -> None:
        self._redis = space.client
        self._keys = space.keys
        self._run = space.run

    def open_reply(self, correlation_id: str, responder: str, ttl_ms: int) -> None:
        self._redis.set(self._keys.waiter(correlation_id), responder, px=ttl_ms)

    def put_reply(
        self,
        correlation_id: str,
        sender: str,
        body: str,
        checks: Checks | None = None,
        kept: tuple[str, str] | None = None,
    ) -> Replied:
        keys = self._keys
        reply_id, cause = kept or ("", "")
        try:
            put = self._run(
                "put_reply",
                [
                    keys.waiter(correlation_id),
                    keys.reply(correlation_id),
                    keys.circuits,
                    keys.spend,
                    keys.limits,
                    keys.answers,
                    keys.answer_of,
                    keys.answered,
                ],
                [
                    sender,
                    body,
                    REPLY_KEEP_MS,
                    *checks_args(checks),
                    ANSWERS_KEPT if kept else "",
                    cause,
                    reply_id,
                ],
            )
        except ResponseError as exc:
            raise guard_error(exc, checks) or exc from None
        return Replied(bool(put), int(put) == 2)

    def waiting(self, correlation_id: str) -> bool:
        return bool(self._redis.exists(self._keys.waiter(correlation_id)))

    def answers(self, causes: Sequence[str]) -> dict[str, list[str]]:
        ids = list(causes)
        if not ids:
            return {}
        kept = cast(list[str | None], self._redis.hmget(self._keys.answers, ids))
        return {
            cause: [] if lines is None else lines.split("\n")
            for cause, lines in zip(ids, kept, strict=True)
        }

    def cause_of(self, reply_id: str) -> str | None:
        return cast(str | None, self._redis.hget(self._keys.answer_of, reply_id))

    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        key = self._keys.reply(correlation_id)
        if timeout <= 0:  # BLPOP's 0 would mean "forever"
            return cast(str | None, self._redis.lpop(key))
        popped = self._redis.blpop([key], timeout=timeout)
        return None if popped is None else cast(list[str], popped)[1]

    def close_reply(self, correlation_id: str) -> None:
        self._redis.delete(self._keys.waiter(correlation_id), self._keys.reply(correlation_id))

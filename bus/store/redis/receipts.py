"""The receipts part of :class:`~bus.store.redis.RedisStore` (see
:class:`~bus.store.contracts.receipts.ReceiptStore`).

``append.lua`` writes the message index (the log's ``located`` hash, shared with ``find``) and
the audiences; this part reads them with what
the other parts keep, in three round trips whatever the number of members: the index entry,
the stream's records (pipelined), then every member's position, lease and failures (one
script given their keys). Notes are written by ``note.lua`` and ``record_failure.lua``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from bus.channels import Stream
from bus.store.contracts.receipts import ReceiptStore
from bus.store.message_facts import DeliveryFacts, Located, MemberFacts, Note
from bus.store.pushed import (
    Pushed,
    ReceiptDraft,
    Skipped,
    SkipRun,
)
from bus.store.redis.leases import receipt_keys_args
from bus.store.redis.namespace import RedisNamespace


def _audience(records: list[str], seq: int) -> tuple[str, ...]:
    """The members of the audience record in force at ``seq`` (the last from at most seq)."""
    if not records:
        return ()
    starts = [int(record.split("\n", 1)[0]) for record in records]
    chosen = records[max(bisect_right(starts, seq) - 1, 0)].split("\n")[1:]
    return tuple(name for name in chosen if name)


def _notes(raw: dict[str, str], seq: int) -> dict[str, Note]:
    found = {}
    for field, value in raw.items():
        span, agent = field.split("\n", 1)
        low, high = (int(part) for part in span.split("-"))
        if low <= seq <= high:
            found[agent] = Note.decode(value)
    return found


def _failure(raw: str | None) -> tuple[int, int, int] | None:
    if raw is None:
        return None
    seq, attempts, not_before = raw.split(":")
    return int(seq), int(attempts), int(not_before)


class RedisReceipts(ReceiptStore):
    """The message-id index, audiences and notes in Redis.

    Args:
        space: The store's namespace on its server.
    """

    def __init__(self, space: RedisNamespace) -> None:
        self._space = space
        self._redis = space.client
        self._keys = space.keys

    def facts(self, message_id: str) -> DeliveryFacts | None:
        keys, client = self._keys, self._redis
        raw = client.hget(keys.located, message_id)
        if raw is None:
            return None
        stream, seq_text, cause, stored_ms, sender = str(raw).split(" ", 4)
        seq, owner = int(seq_text), Stream(stream).owner
        pipe = client.pipeline(transaction=False)
        pipe.hget(keys.heads, stream)
        pipe.llen(keys.log(stream))
        pipe.lrange(keys.audience(stream), 0, -1)
        pipe.hgetall(keys.notes(stream))
        pipe.hgetall(keys.started(stream))
        head_raw, retained, records, notes, started = pipe.execute()
        head = int(head_raw or 0)
        audience = (owner,) if owner is not None else _audience(records, seq)
        flat: list[Any] = []
        if audience:
            flat = self._space.run(
                "member_facts",
                [
                    key
                    for agent in audience
                    for key in (
                        keys.positions(agent),
                        keys.lease(agent, stream),
                        keys.failures(agent),
                    )
                ],
                [stream],
            )
        members = {}
        for index, agent in enumerate(audience):
            position, lease, failure = flat[3 * index : 3 * index + 3]
            run = started.get(agent)
            members[agent] = MemberFacts(
                None if position is None else int(position),
                lease,
                None if run is None else (int(run.split(":")[0]), int(run.split(":")[1])),
                _failure(failure),
            )
        return DeliveryFacts(
            Located(stream, seq, int(stored_ms), sender, cause),
            head - int(retained) + 1,
            head,
            audience,
            members,
            {agent: note for agent, note in _notes(notes, seq).items() if agent in members},
        )

    def note(
        self, stream: str, seq: int, agent: str, note: Note, receipt: ReceiptDraft | None = None
    ) -> Pushed | None:
        keys = self._keys
        more: tuple[list[str], list[Any]] = ([], [])
        if receipt is not None:
            more = receipt_keys_args(keys, receipt)
        done = self._space.run(
            "note",
            [keys.notes(stream), keys.trimmed(stream), keys.indexed(stream), keys.heads, *more[0]],
            [stream, f"{seq}-{seq}\n{agent}", note.encode(), *more[1]],
        )
        return None if receipt is None else Pushed(False, int(done[0]), bool(int(done[1])))

    def consume(self, agent: str, on: bool, *, hosted: bool = False) -> None:
        if on:
            self._redis.hset(self._keys.receipt_consumers, agent, "hosted" if hosted else "1")
        else:
            self._redis.hdel(self._keys.receipt_consumers, agent)

    def consumers(self) -> set[str]:
        return {str(name) for name in self._redis.hkeys(self._keys.receipt_consumers)}

    def note_skipped(
        self,
        agent: str,
        stream: str,
        first: int,
        last: int,
        at_ms: int,
        receipts: Sequence[ReceiptDraft] | None = None,
    ) -> Skipped:
        keys = self._keys
        more_keys: list[str] = []
        more_args: list[Any] = []
        for draft in receipts or ():
            draft_keys, draft_args = receipt_keys_args(keys, draft)
            more_keys += draft_keys[1:]
            more_args += draft_args
        reply = self._space.run(
            "note_skipped",
            [
                keys.notes(stream),
                keys.trimmed(stream),
                keys.indexed(stream),
                keys.heads,
                keys.located,
                keys.receipt_consumers,
                *more_keys,
            ],
            [
                stream,
                f"{first}-{last}\n{agent}",
                Note("skipped", at_ms).encode(),
                first,
                last,
                agent,
                "" if receipts is None else "receipts",
                *more_args,
            ],
        )
        if int(reply[0]) == 1:
            flat = reply[1:]
            return Skipped(
                tuple(
                    SkipRun(str(flat[i]), str(flat[i + 1]), *(int(n) for n in flat[i + 2 : i + 5]))
                    for i in range(0, len(flat), 5)
                )
            )
        pairs = reply[1:]
        return Skipped(
            (),
            tuple(
                Pushed(False, int(pairs[i]), bool(int(pairs[i + 1])))
                for i in range(0, len(pairs), 2)
            ),
        )

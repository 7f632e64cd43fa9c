"""The log part of :class:`~bus.store.redis.RedisStore` (see
:class:`~bus.store.contracts.log.LogStore`): each stream's entries are a list, its head a field
of one hash, each agent's positions a hash; appends and claims are one script each (the append
path is :class:`~bus.store.redis.appends.RedisAppends`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, cast

from bus.channels import ChannelSpec, Retention
from bus.store.contracts.guards import Checks
from bus.store.contracts.log import LogStore
from bus.store.message_facts import Traced
from bus.store.pushed import Pushed, ReceiptDraft
from bus.store.redis.appends import RedisAppends
from bus.store.redis.leases import receipt_keys_args
from bus.store.redis.namespace import RedisNamespace, entry_of
from bus.store.results import Appended, Batch, Dedupe, Entry, Wanting


class RedisLog(LogStore):
    """The streams' logs in Redis.

    Args:
        space: The store's namespace on its server.
    """

    def __init__(self, space: RedisNamespace) -> None:
        self._space = space
        self._redis = space.client
        self._keys = space.keys
        self._run = space.run
        self._appends = RedisAppends(space)
        #: agent -> the streams it read at its last claim_any: the keys that script needs.
        self._streams: dict[str, list[str]] = {}
        self._streams_lock = threading.Lock()

    def forget_streams(self) -> None:
        """Drop what :meth:`claim_any` learnt of each agent's streams, and what the appends
        learnt of each channel's members (the store was emptied)."""
        with self._streams_lock:
            self._streams.clear()
        self._appends.forget_members()

    def append(
        self,
        stream: str,
        body: str,
        now_ms: int,
        retention: Retention,
        *,
        channel: ChannelSpec | None = None,
        dedupe: Dedupe | None = None,
        coalesce: bool = False,
        message_id: str | None = None,
        causation_id: str | None = None,
        sender: str = "",
        checks: Checks | None = None,
    ) -> Appended:
        return self._appends.append(
            stream,
            body,
            now_ms,
            retention,
            channel=channel,
            dedupe=dedupe,
            coalesce=coalesce,
            message_id=message_id,
            causation_id=causation_id,
            sender=sender,
            checks=checks,
        )

    def unsignal(self, stream: str, agents: Sequence[str]) -> None:
        if agents:
            self._redis.hdel(self._keys.signals(stream), *agents)

    def history(
        self,
        stream: str,
        *,
        newest: int | None = None,
        after: int | None = None,
        since_ms: int | None = None,
    ) -> list[Entry]:
        found = self._run(
            "history",
            [self._keys.heads, self._keys.log(stream)],
            [stream, *("" if value is None else value for value in (after, since_ms, newest))],
        )
        if not found:
            return []
        first = int(found[0])
        return [entry_of(stream, first + index, raw) for index, raw in enumerate(found[1:])]

    def head(self, stream: str) -> int:
        return int(cast(str | None, self._redis.hget(self._keys.heads, stream)) or 0)

    def retained(self, stream: str) -> int:
        return int(self._redis.llen(self._keys.log(stream)))

    def position(self, agent: str, stream: str) -> int | None:
        raw = cast(str | None, self._redis.hget(self._keys.positions(agent), stream))
        return None if raw is None else int(raw)

    def claim(self, agent: str, stream: str) -> Entry | None:
        keys = self._keys
        found = self._space.run_moving(
            "claim",
            [
                keys.positions(agent),
                keys.heads,
                keys.log(stream),
                keys.epoch,
                keys.lease(agent, stream),
                keys.signals(stream),
            ],
            [stream, self._space.epochs.arg, agent],
        )
        return None if found is None else self._seen(entry_of(stream, *found[:3]))

    def _seen(self, entry: Entry) -> Entry:
        """``entry``, remembered as handed over (fencing)."""
        self._space.epochs.saw(entry.stream, entry.seq)
        return entry

    def claim_any(self, agent: str, receipt: ReceiptDraft | None = None) -> Batch:
        keys = self._keys
        with self._streams_lock:
            streams = self._streams.get(agent, [])
        more_keys: list[str] = []
        more_args: list[Any] = []
        if receipt is not None and receipt.body is not None:
            receipt_keys, receipt_args = receipt_keys_args(keys, receipt)
            more_keys = receipt_keys[1:]  # the consumers key is passed anyway
            more_args = [receipt.of_stream, receipt.of_seq, *receipt_args]
        while True:
            found = self._space.run_moving(
                "claim_any",
                [
                    keys.positions(agent),
                    keys.heads,
                    *(keys.log(stream) for stream in streams),
                    *(keys.lease(agent, stream) for stream in streams),
                    *(keys.signals(stream) for stream in streams),
                    keys.receipt_consumers,
                    keys.epoch,
                    *more_keys,
                ],
                [self._space.epochs.arg, agent, len(streams), *streams, *more_args],
            )
            if found is None:
                return Batch(True)
            if int(found[0]) == 2:  # its sender consumes receipts: nothing moved
                return Batch(True, (Wanting(*entry_of(found[1], found[2], found[3], found[4])),))
            if int(found[0]) == 1:
                stream, ahead = found[1], found[8]
                return Batch(
                    True,
                    (self._seen(entry_of(stream, found[2], found[3], found[4])),),
                    None if not more_args else Pushed(False, int(found[5]), bool(int(found[6]))),
                    Wanting(*entry_of(stream, found[7], ahead)) if ahead else None,
                )
            # The agent's streams changed since they were cached: learn them and try again.
            streams = sorted(found[1:])
            with self._streams_lock:
                self._streams[agent] = streams

    def find(self, message_ids: Sequence[str]) -> dict[str, Traced]:
        ids = list(message_ids)
        if not ids:
            return {}
        located = cast(list[str | None], self._redis.hmget(self._keys.located, ids))
        places = [
            (message_id, *value.split(" ", 4)[:3])
            for message_id, value in zip(ids, located, strict=True)
            if value is not None
        ]
        if not places:
            return {}
        raws = self._run(
            "entries",
            [self._keys.heads, *(self._keys.log(stream) for _, stream, _, _ in places)],
            [part for _, stream, seq, _ in places for part in (stream, seq)],
        )
        return {
            message_id: Traced(entry_of(stream, seq, raw), cause or None)
            for (message_id, stream, seq, cause), raw in zip(places, raws, strict=True)
            if raw is not None
        }

    def placed(self, message_id: str) -> tuple[str, int] | None:
        value = cast(str | None, self._redis.hget(self._keys.located, message_id))
        if value is None:
            return None
        stream, seq = value.split(" ", 2)[:2]
        return stream, int(seq)

    def caused(self, message_ids: Sequence[str]) -> dict[str, list[str]]:
        ids = list(message_ids)
        with self._redis.pipeline(transaction=False) as pipe:
            for message_id in ids:
                pipe.zrangebylex(self._keys.caused, f"[{message_id} ", f"({message_id}!")
            ranges = cast(list[list[str]], pipe.execute())
        return {
            message_id: [member.split(" ", 1)[1] for member in found]
            for message_id, found in zip(ids, ranges, strict=True)
        }

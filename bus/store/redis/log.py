"""The log part of :class:`~bus.store.redis.RedisStore` (see
:class:`~bus.store.contracts.log.LogStore`): each stream's entries are a list, its head a field
of one hash, each agent's positions a hash; appends and claims are one script each."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, cast

from redis.exceptions import ResponseError

from bus.channels import ChannelSpec, Overflow, Retention, Stream
from bus.errors import NotReplicated
from bus.store.contracts.guards import Checks
from bus.store.contracts.log import LogStore
from bus.store.message_facts import INDEX_FACTOR, Traced
from bus.store.pushed import Pushed, ReceiptDraft
from bus.store.redis.fencing import Fencing
from bus.store.redis.guards import checks_args, guard_error, guard_outcome, own_max_pending
from bus.store.redis.leases import receipt_keys_args
from bus.store.redis.namespace import RedisNamespace, entry_of, refusal
from bus.store.results import Appended, Batch, Dedupe, Duplicate, Entry, Guarded, Wanting

#: How many members the append script asked to count a channel may keep being given.
ASKED_KEPT = 16


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
        self._fencing = Fencing(space)
        #: agent -> the streams it read at its last claim_any: the keys that script needs.
        self._streams: dict[str, list[str]] = {}
        #: members key -> the members last read, and the limits key -> the agents with their
        #: own max_pending: the positions the guards and reject-publish need.
        self._members: dict[str, list[str]] = {}
        #: members key -> the members whose positions the append script last asked for.
        self._asked: dict[str, list[str]] = {}
        self._streams_lock = threading.Lock()

    def forget_streams(self) -> None:
        """Drop what :meth:`claim_any` learnt of each agent's streams (the store was emptied)."""
        with self._streams_lock:
            self._streams.clear()
            self._members.clear()
            self._asked.clear()

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
        keys, max_age = self._keys, retention.max_age_seconds
        parsed = Stream(stream)
        owner = parsed.owner
        recipients_key = (
            keys.agents if owner is not None else keys.members(cast(str, parsed.channel))
        )
        reject = channel is not None and channel.overflow is Overflow.REJECT_PUBLISH
        epochs, replicas = self._space.epochs, self._space.replication.min_replicas
        run = self._space.run_replicated if replicas else lambda *call: (self._run(*call), 0)
        # reject-publish and the guards check the members' positions: the script needs their
        # keys. The members are cached; the script answers -1 when they changed. With the
        # bus-level max_pending off, only the agents with their own are checked: the script
        # gets theirs (guards.lua, guard_limited).
        # Without reject-publish, the script reads the members itself and asks for the
        # positions of those its bounds do not clear (-3): the last asked are given at once.
        guarded = checks is not None and owner is None
        limited = guarded and not reject and cast(Checks, checks).max_pending <= 0
        asked = guarded and not reject and not limited
        if asked:
            with self._streams_lock:
                known = self._asked.get(recipients_key, [])
        else:
            known = self._given(recipients_key, limited) if reject or guarded else []
        while True:
            try:
                (seq, *members), acked = run(
                    "append",
                    [
                        keys.heads,
                        keys.log(stream),
                        recipients_key,
                        keys.channels,
                        keys.epoch,
                        keys.dedupe(stream, dedupe.key if dedupe else ""),
                        keys.signals(stream),
                        keys.located,
                        keys.caused,
                        keys.indexed(stream),
                        keys.trimmed(stream),
                        keys.audience(stream),
                        keys.circuits,
                        keys.spend,
                        keys.limits,
                        keys.notes(stream),
                        keys.positions(owner or ""),
                        keys.unread_bounds,
                        *(keys.positions(member) for member in known),
                    ],
                    [
                        stream,
                        body,
                        now_ms,
                        retention.max_messages,
                        "" if max_age is None else int(max_age * 1000),
                        owner or "",
                        "" if channel is None else channel.name,
                        "" if channel is None else channel.version,
                        self._space.epochs.arg,
                        "" if dedupe is None else dedupe.window_ms,
                        "reject" if reject else "",
                        "coalesce" if coalesce else "",
                        message_id or "",
                        (causation_id or "") if message_id else "",
                        sender,
                        (INDEX_FACTOR - 1) * retention.max_messages,
                        epochs.floor(stream),
                        *checks_args(checks),
                        *known,
                    ],
                )
            except ResponseError as exc:
                if str(exc).startswith("BUSFENCED"):  # a failover lost acknowledged appends
                    self._fencing.fence(stream, int(str(exc).split()[1]))
                    continue
                raise guard_error(exc, checks) or refusal(exc, channel) from None
            if int(seq) == -3:
                known = sorted({*known, *members})
                # A few asked (members at their limit) are likely asked again: give them at
                # once next time. Many (a new channel's first publish) are not.
                kept = known if len(known) <= ASKED_KEPT else []
                with self._streams_lock:
                    self._asked[recipients_key] = kept
                continue
            if int(seq) != -1:
                break
            known = self._given(recipients_key, limited, fresh=True)
        if int(seq) == -2:
            seq = int(members[0])
            if replicas:  # the first append's writes: are they on the replicas by now?
                acked = self._space.wait_replicas(self._keys.replicated)
                self._replicated(stream, seq, acked)
            return Duplicate(seq, [])
        self._replicated(stream, int(seq), acked)
        overloaded, closed = guard_outcome(members.pop()) if checks is not None else ([], False)
        if coalesce:
            woken = int(members[0])
            appended = Appended(int(seq), members[1:], members[1 : 1 + woken])
        else:
            appended = Appended(int(seq), members)
        return Guarded.of(appended, overloaded, closed)

    def _given(self, members_key: str, limited: bool, *, fresh: bool = False) -> list[str]:
        """The agents whose positions an append to a channel checks: its members, or
        (``limited``) the agents that set their own max_pending; as last read (``fresh``:
        read again), sorted."""
        key = self._keys.limits if limited else members_key
        with self._streams_lock:
            known = None if fresh else self._members.get(key)
        if known is None:
            if limited:
                raw = cast(dict[str, str], self._redis.hgetall(key))
                known = sorted(agent for agent, words in raw.items() if own_max_pending(words))
            else:
                known = sorted(cast(set[str], self._redis.smembers(key)))
            with self._streams_lock:
                self._members[key] = known
        return known

    def _replicated(self, stream: str, seq: int, acked: int) -> None:
        """Remember ``seq`` as acknowledged, or raise :class:`NotReplicated`."""
        replication = self._space.replication
        if acked < replication.min_replicas:
            raise NotReplicated(
                f"{stream} #{seq} is stored on the master of {self._space.url} but only "
                f"{acked} of the {replication.min_replicas} replicas asked for "
                f"(BUS_STORE_MIN_REPLICAS) confirmed it within "
                f"{replication.replica_timeout_ms} ms: a failover may lose it. Retry with the "
                "same idempotency key (it is kept: the retry is not a duplicate)",
                stream=stream,
                seq=seq,
                replicas=acked,
                wanted=replication.min_replicas,
            )
        self._space.epochs.saw(stream, seq)

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

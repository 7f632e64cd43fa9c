"""The append path of :class:`~bus.store.redis.log.RedisLog` (see
:meth:`~bus.store.contracts.log.LogStore.append`): one ``append.lua`` call per append, given the
keys of the positions its guards and reject-publish check (the members behind them cached here,
read again when the script says they changed); retried after fencing what a failover lost, and
checked against the replicas asked for."""

from __future__ import annotations

import threading
from typing import cast

from redis.exceptions import ResponseError

from bus.channels import ChannelSpec, Overflow, Retention, Stream
from bus.errors import NotReplicated
from bus.store.contracts.guards import Checks
from bus.store.message_facts import INDEX_FACTOR
from bus.store.redis.fencing import Fencing
from bus.store.redis.guards import checks_args, guard_error, guard_outcome, own_max_pending
from bus.store.redis.namespace import RedisNamespace, refusal
from bus.store.results import Appended, Dedupe, Duplicate, Guarded

#: How many members the append script asked to count a channel may keep being given.
ASKED_KEPT = 16


class RedisAppends:
    """Appends to the streams' logs in Redis, and the members whose positions they check.

    Args:
        space: The store's namespace on its server.
    """

    def __init__(self, space: RedisNamespace) -> None:
        self._space = space
        self._redis = space.client
        self._keys = space.keys
        self._run = space.run
        self._fencing = Fencing(space)
        #: members key -> the members last read, and the limits key -> the agents with their
        #: own max_pending: the positions the guards and reject-publish need.
        self._members: dict[str, list[str]] = {}
        #: members key -> the members whose positions the append script last asked for.
        self._asked: dict[str, list[str]] = {}
        self._members_lock = threading.Lock()

    def forget_members(self) -> None:
        """Drop the members read and asked for of each channel (the store was emptied)."""
        with self._members_lock:
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
        """:meth:`~bus.store.contracts.log.LogStore.append`, in Redis."""
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
            with self._members_lock:
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
                with self._members_lock:
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
        with self._members_lock:
            known = None if fresh else self._members.get(key)
        if known is None:
            if limited:
                raw = cast(dict[str, str], self._redis.hgetall(key))
                known = sorted(agent for agent, words in raw.items() if own_max_pending(words))
            else:
                known = sorted(cast(set[str], self._redis.smembers(key)))
            with self._members_lock:
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

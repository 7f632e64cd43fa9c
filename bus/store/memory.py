"""The in-process store: the default with ``memory://``; one process, no server.

It follows :class:`~bus.store.redis.RedisStore` step for step (the contract suite runs both),
down to what Redis gives for free: leases and reply boxes expire, ``since`` is found by a
binary search on append times, and ties between streams go to the smaller stream id.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from bus.channels import ChannelKind, ChannelSpec, Overflow, Retention
from bus.errors import ChannelChanged, UnknownChannel, channel_exists, rejected
from bus.store.base import ResetWatcher, Store
from bus.store.identity import new_epoch
from bus.store.memory_leases import MemoryLeases
from bus.store.memory_replies import MemoryReplies
from bus.store.results import Appended, Dedupe, Duplicate, Entry
from bus.streams import Stream


@dataclass
class _Log:
    head: int = 0
    #: ``(seq, append ms, json)``, oldest first; seqs are contiguous.
    entries: deque[tuple[int, int, str]] = field(default_factory=deque)

    def trim(self, retention: Retention, now_ms: int) -> None:
        while len(self.entries) > retention.max_messages:
            self.entries.popleft()
        if retention.max_age_seconds is not None:
            cutoff = now_ms - int(retention.max_age_seconds * 1000)
            while self.entries and self.entries[0][1] < cutoff:
                self.entries.popleft()

    def after(self, seq: int) -> tuple[int, int, str] | None:
        if not self.entries or self.entries[-1][0] <= seq:
            return None
        first = self.entries[0][0]
        return self.entries[max(seq + 1 - first, 0)]

    def following(self, seq: int, limit: int) -> list[tuple[int, int, str]]:
        """Up to ``limit`` entries after ``seq``, oldest first."""
        if not self.entries or self.entries[-1][0] <= seq:
            return []
        entries = self.entries
        start = max(seq + 1 - entries[0][0], 0)
        return [entries[index] for index in range(start, min(start + limit, len(entries)))]


class MemoryStore(MemoryLeases, MemoryReplies, Store):
    """A :class:`~bus.store.base.Store` in this process's memory, safe across threads.

    Its state lives as long as the process, so it never loses it by itself: its epoch changes
    only when :meth:`destroy` is called, and nothing checks it.
    """

    def __init__(self) -> None:
        MemoryReplies.__init__(self)
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self._channels: dict[str, ChannelSpec] = {}
        self._agents: set[str] = set()
        self._members: defaultdict[str, set[str]] = defaultdict(set)
        self._logs: defaultdict[str, _Log] = defaultdict(_Log)
        #: agent -> stream -> last seq handed over
        self._positions: defaultdict[str, dict[str, int]] = defaultdict(dict)
        #: (agent, stream) -> (token, expires at, monotonic seconds)
        self._leases: dict[tuple[str, str], tuple[str, float]] = {}
        #: (agent, stream) -> (seq, attempts, not_before_ms)
        self._failures: dict[tuple[str, str], tuple[int, int, int]] = {}
        #: (stream, idempotency key) -> (seq, forgotten at, monotonic seconds)
        self._dedupe: dict[tuple[str, str], tuple[int, float]] = {}
        self._epoch: str | None = None
        self._forget_replies()

    def establish(self) -> str:
        with self._lock:
            if self._epoch is None:
                self._epoch = new_epoch()
            return self._epoch

    def epoch(self) -> str | None:
        return self._epoch

    @property
    def expected(self) -> str | None:
        return self._epoch

    def verify(self) -> None:
        """Nothing to verify: see :meth:`watch`."""

    def watch(self, watcher: ResetWatcher) -> None:
        """Nothing to watch: this store never loses its state by itself."""

    def ping(self) -> None:
        """Always reachable."""

    def close(self) -> None:
        """Nothing to release."""

    def destroy(self) -> None:
        with self._lock:
            self._reset()

    # -- registry -------------------------------------------------------------------------------

    def create_channel(self, spec: ChannelSpec) -> bool:
        with self._lock:
            existing = self._channels.get(spec.name)
            if existing is not None:
                if not existing.same_as(spec):
                    raise channel_exists(existing)
                return False
            self._channels[spec.name] = spec
            if spec.kind is ChannelKind.BROADCAST:
                for agent in self._agents:
                    self._join(agent, spec.name)
            return True

    def update_channel(self, spec: ChannelSpec, replaces: int) -> bool:
        with self._lock:
            existing = self._channels.get(spec.name)
            if existing is None:
                raise UnknownChannel(f"no channel named {spec.name!r}", channel=spec.name)
            if existing.version != replaces:
                return False
            self._channels[spec.name] = spec
            if spec.kind is ChannelKind.BROADCAST:
                for agent in self._agents:
                    self._join(agent, spec.name)
            return True

    def get_channel(self, name: str) -> ChannelSpec | None:
        return self._channels.get(name)

    def list_channels(self) -> list[ChannelSpec]:
        with self._lock:
            return sorted(self._channels.values(), key=lambda spec: spec.name)

    def register_agent(self, agent: str) -> bool:
        with self._lock:
            if agent in self._agents:
                return False
            self._agents.add(agent)
            inbox = Stream.of_inbox(agent).id
            self._positions[agent][inbox] = self.head(inbox)
            for spec in self._channels.values():
                if spec.kind is ChannelKind.BROADCAST:
                    self._join(agent, spec.name)
            return True

    def is_agent(self, agent: str) -> bool:
        return agent in self._agents

    def agents(self) -> list[str]:
        with self._lock:
            return sorted(self._agents)

    def subscribe(self, agent: str, channel: str) -> bool:
        with self._lock:
            return self._join(agent, channel)

    def _join(self, agent: str, channel: str) -> bool:
        if agent in self._members[channel]:
            return False
        self._members[channel].add(agent)
        stream = Stream.of_channel(channel).id
        self._positions[agent][stream] = self.head(stream)
        return True

    def unsubscribe(self, agent: str, channel: str) -> bool:
        with self._lock:
            if agent not in self._members.get(channel, ()):
                return False
            self._members[channel].discard(agent)
            self._positions[agent].pop(Stream.of_channel(channel).id, None)
            return True

    def members(self, channel: str) -> list[str]:
        with self._lock:
            return sorted(self._members.get(channel, ()))

    def subscriptions(self, agent: str) -> list[str]:
        with self._lock:
            return sorted(name for name, members in self._members.items() if agent in members)

    def register_agents(self, agents: Sequence[str]) -> list[bool]:
        with self._lock:
            return [self.register_agent(agent) for agent in agents]

    def registered(self, agents: Sequence[str]) -> list[bool]:
        return [agent in self._agents for agent in agents]

    def subscribe_many(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        with self._lock:
            return [self._join(agent, channel) for agent, channel in pairs]

    def subscriptions_of(self, agents: Sequence[str]) -> dict[str, set[str]]:
        with self._lock:
            found: dict[str, set[str]] = {agent: set() for agent in agents}
            for name, members in self._members.items():
                for agent in members.intersection(found):
                    found[agent].add(name)
            return found

    # -- log ------------------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        body: str,
        now_ms: int,
        retention: Retention,
        *,
        channel: ChannelSpec | None = None,
        dedupe: Dedupe | None = None,
    ) -> Appended:
        parsed = Stream(stream)
        with self._lock:
            if channel is not None:
                stored = self._channels.get(channel.name)
                if stored is None:
                    raise UnknownChannel(f"no channel named {channel.name!r}", channel=channel.name)
                if stored.version != channel.version:
                    raise ChannelChanged(
                        f"channel {channel.name!r} changed to version {stored.version}",
                        channel=channel.name,
                        spec=stored,
                    )
            now = time.monotonic()
            if dedupe is not None:
                original = self._dedupe.get((stream, dedupe.key))
                if original is not None and original[1] > now:
                    return Duplicate(original[0], [])
            log = self._logs[stream]
            if channel is not None and channel.overflow is Overflow.REJECT_PUBLISH:
                last_trimmed = log.head + 1 - retention.max_messages
                lagging = [
                    member
                    for member in self._members.get(channel.name, ())
                    if self._positions[member].get(stream, last_trimmed) < last_trimmed
                ]
                if lagging:
                    raise rejected(channel, lagging)
            log.head += 1
            if dedupe is not None:
                self._dedupe = {k: v for k, v in self._dedupe.items() if v[1] > now}
                self._dedupe[(stream, dedupe.key)] = (log.head, now + dedupe.window_ms / 1000)
            log.entries.append((log.head, now_ms, body))
            log.trim(retention, now_ms)
            owner = parsed.owner
            if owner is None:
                recipients = list(self._members.get(parsed.channel or "", ()))
            else:
                recipients = [owner] if owner in self._agents else []
            return Appended(log.head, recipients)

    def history(
        self,
        stream: str,
        *,
        newest: int | None = None,
        after: int | None = None,
        since_ms: int | None = None,
    ) -> list[Entry]:
        with self._lock:
            log = self._logs.get(stream)
            if log is None or not log.entries:
                return []
            entries, first = log.entries, log.entries[0][0]
            start = 0 if after is None else max(0, after + 1 - first)
            if since_ms is not None and start < len(entries):
                # A binary search, as the Redis script does: append times do not go back.
                start = bisect_left(entries, since_ms, lo=start, key=lambda entry: entry[1])
            if newest is not None:
                start = max(start, len(entries) - newest)
            picked = [entries[index] for index in range(start, len(entries))]
        return [Entry(stream, seq, body) for seq, _, body in picked]

    def head(self, stream: str) -> int:
        log = self._logs.get(stream)
        return 0 if log is None else log.head

    def retained(self, stream: str) -> int:
        log = self._logs.get(stream)
        return 0 if log is None else len(log.entries)

    def position(self, agent: str, stream: str) -> int | None:
        with self._lock:
            return self._positions.get(agent, {}).get(stream)

    def _next(self, agent: str, stream: str) -> tuple[int, int, str] | None:
        position = self._positions.get(agent, {}).get(stream)
        log = self._logs.get(stream)
        return None if position is None or log is None else log.after(position)

    def _following(self, stream: str, seq: int, limit: int) -> list[tuple[int, int, str]]:
        log = self._logs.get(stream)
        return [] if log is None else log.following(seq, limit)

    def _leased(self, agent: str, stream: str) -> bool:
        held = self._leases.get((agent, stream))
        return held is not None and held[1] > time.monotonic()

    def claim(self, agent: str, stream: str) -> Entry | None:
        with self._lock:
            found = None if self._leased(agent, stream) else self._next(agent, stream)
            if found is None:
                return None
            skipped = found[0] - self._positions[agent][stream] - 1
            self._positions[agent][stream] = found[0]
            return Entry(stream, found[0], found[2], skipped)

    def claim_any(self, agent: str) -> Entry | None:
        with self._lock:
            pending = [
                (found[1], stream)
                for stream in self._positions.get(agent, {})
                if not self._leased(agent, stream)
                and (found := self._next(agent, stream)) is not None
            ]
            return self.claim(agent, min(pending)[1]) if pending else None

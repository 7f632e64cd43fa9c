"""The in-process store: the default with ``memory://``; one process, no server.

It follows :class:`~bus.store.redis.RedisStore` step for step (the contract suite runs both),
down to what Redis gives for free: leases and reply boxes expire, ``since`` is found by a
binary search on append times, and ties between streams go to the smaller stream id.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Sequence

from bus.channels import ChannelKind, ChannelSpec, Overflow, Retention, Stream
from bus.errors import ChannelChanged, UnknownChannel, channel_exists, rejected
from bus.store.base import ResetWatcher, Store
from bus.store.identity import new_epoch
from bus.store.memory_leases import MemoryLeases
from bus.store.memory_log import MemoryLog, StreamLog
from bus.store.memory_replies import MemoryReplies
from bus.store.results import Appended, Dedupe, Duplicate


class MemoryStore(MemoryLog, MemoryLeases, MemoryReplies, Store):
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
        self._logs: defaultdict[str, StreamLog] = defaultdict(StreamLog)
        #: agent -> stream -> last seq handed over
        self._positions: defaultdict[str, dict[str, int]] = defaultdict(dict)
        #: (agent, stream) -> (token, expires at, monotonic seconds)
        self._leases: dict[tuple[str, str], tuple[str, float]] = {}
        #: (agent, stream) -> (seq, attempts, not_before_ms)
        self._failures: dict[tuple[str, str], tuple[int, int, int]] = {}
        #: (stream, idempotency key) -> (seq, forgotten at, monotonic seconds)
        self._dedupe: dict[tuple[str, str], tuple[int, float]] = {}
        #: stream -> agent -> the seq whose delivery is outstanding (coalesced deliveries)
        self._signals: defaultdict[str, dict[str, int]] = defaultdict(dict)
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
            self._signals[Stream.of_channel(channel).id].pop(agent, None)
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
        coalesce: bool = False,
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
            return self._appended(stream, log.head, recipients, coalesce)

    def unsignal(self, stream: str, agents: Sequence[str]) -> None:
        with self._lock:
            signals = self._signals.get(stream, {})
            for agent in agents:
                signals.pop(agent, None)

    def _appended(self, stream: str, seq: int, recipients: list[str], coalesce: bool) -> Appended:
        if not coalesce:
            return Appended(seq, recipients)
        signals = self._signals[stream]
        woken = [agent for agent in recipients if agent not in signals]
        signals.update(dict.fromkeys(woken, seq))
        return Appended(seq, recipients, woken)

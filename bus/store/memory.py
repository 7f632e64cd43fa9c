"""The in-process store: the default with ``memory://``; one process, no server."""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from bus.channels import ChannelKind, ChannelSpec, Retention
from bus.errors import ChannelExists
from bus.store.base import (
    CHANNEL_STREAM,
    DIRECT_STREAM,
    channel_stream,
    direct_stream,
    splice_seq,
)


@dataclass
class _Log:
    head: int = 0
    #: ``(seq, timestamp_ms, json)``, oldest first; seqs are contiguous.
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


class MemoryStore:
    """A :class:`~bus.store.base.Store` in this process's memory, safe across threads."""

    def __init__(self) -> None:
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
        #: correlation id -> (responder, where its reply goes)
        self._replies: dict[str, tuple[str, queue.Queue[str]]] = {}

    def ping(self) -> None:
        """Always reachable."""

    def close(self) -> None:
        """Nothing to release."""

    def destroy(self) -> None:
        """Forget everything."""
        with self._lock:
            self._reset()

    def create_channel(self, spec: ChannelSpec) -> bool:
        """See :meth:`bus.store.base.Store.create_channel`."""
        with self._lock:
            existing = self._channels.get(spec.name)
            if existing is not None:
                if existing != spec:
                    raise ChannelExists(
                        f"channel {spec.name!r} exists as {existing.kind} "
                        f"with {existing.retention}",
                        channel=spec.name,
                    )
                return False
            self._channels[spec.name] = spec
            if spec.kind is ChannelKind.BROADCAST:
                for agent in self._agents:
                    self._join(agent, spec.name)
            return True

    def get_channel(self, name: str) -> ChannelSpec | None:
        """See :meth:`bus.store.base.Store.get_channel`."""
        return self._channels.get(name)

    def list_channels(self) -> list[ChannelSpec]:
        """See :meth:`bus.store.base.Store.list_channels`."""
        with self._lock:
            return sorted(self._channels.values(), key=lambda spec: spec.name)

    def register_agent(self, agent: str) -> bool:
        """See :meth:`bus.store.base.Store.register_agent`."""
        with self._lock:
            if agent in self._agents:
                return False
            self._agents.add(agent)
            inbox = direct_stream(agent)
            self._positions[agent][inbox] = self._logs[inbox].head
            for spec in self._channels.values():
                if spec.kind is ChannelKind.BROADCAST:
                    self._join(agent, spec.name)
            return True

    def is_agent(self, agent: str) -> bool:
        """See :meth:`bus.store.base.Store.is_agent`."""
        return agent in self._agents

    def agents(self) -> list[str]:
        """See :meth:`bus.store.base.Store.agents`."""
        with self._lock:
            return sorted(self._agents)

    def subscribe(self, agent: str, channel: str) -> bool:
        """See :meth:`bus.store.base.Store.subscribe`."""
        with self._lock:
            return self._join(agent, channel)

    def _join(self, agent: str, channel: str) -> bool:
        if agent in self._members[channel]:
            return False
        self._members[channel].add(agent)
        stream = channel_stream(channel)
        self._positions[agent][stream] = self._logs[stream].head
        return True

    def unsubscribe(self, agent: str, channel: str) -> bool:
        """See :meth:`bus.store.base.Store.unsubscribe`."""
        with self._lock:
            if agent not in self._members[channel]:
                return False
            self._members[channel].discard(agent)
            self._positions[agent].pop(channel_stream(channel), None)
            return True

    def members(self, channel: str) -> list[str]:
        """See :meth:`bus.store.base.Store.members`."""
        with self._lock:
            return sorted(self._members.get(channel, ()))

    def subscriptions(self, agent: str) -> list[str]:
        """See :meth:`bus.store.base.Store.subscriptions`."""
        with self._lock:
            return sorted(name for name, members in self._members.items() if agent in members)

    def append(
        self, stream: str, body: str, now_ms: int, retention: Retention
    ) -> tuple[int, list[str]]:
        """See :meth:`bus.store.base.Store.append`."""
        with self._lock:
            log = self._logs[stream]
            log.head += 1
            log.entries.append((log.head, now_ms, splice_seq(body, log.head)))
            log.trim(retention, now_ms)
            if stream.startswith(CHANNEL_STREAM):
                recipients = list(self._members[stream[len(CHANNEL_STREAM) :]])
            else:
                owner = stream[len(DIRECT_STREAM) :]
                recipients = [owner] if owner in self._agents else []
            return log.head, recipients

    def history(
        self,
        stream: str,
        *,
        newest: int | None = None,
        after: int | None = None,
        since_ms: int | None = None,
    ) -> list[str]:
        """See :meth:`bus.store.base.Store.history`."""
        with self._lock:
            log = self._logs.get(stream)
            if log is None:
                return []
            picked = [
                body
                for seq, stamp, body in log.entries
                if (after is None or seq > after) and (since_ms is None or stamp >= since_ms)
            ]
        if newest is not None:
            picked = picked[-newest:] if newest > 0 else []
        return picked

    def head(self, stream: str) -> int:
        """See :meth:`bus.store.base.Store.head`."""
        log = self._logs.get(stream)
        return 0 if log is None else log.head

    def retained(self, stream: str) -> int:
        """See :meth:`bus.store.base.Store.retained`."""
        log = self._logs.get(stream)
        return 0 if log is None else len(log.entries)

    def position(self, agent: str, stream: str) -> int | None:
        """See :meth:`bus.store.base.Store.position`."""
        with self._lock:
            return self._positions.get(agent, {}).get(stream)

    def claim(self, agent: str, stream: str) -> str | None:
        """See :meth:`bus.store.base.Store.claim`."""
        with self._lock:
            position = self._positions.get(agent, {}).get(stream)
            if position is None:
                return None
            entry = self._logs[stream].after(position)
            if entry is None:
                return None
            self._positions[agent][stream] = entry[0]
            return entry[2]

    def claim_any(self, agent: str) -> tuple[str, str] | None:
        """See :meth:`bus.store.base.Store.claim_any`."""
        with self._lock:
            pending = [
                (entry[1], stream)
                for stream, position in self._positions.get(agent, {}).items()
                if (entry := self._logs[stream].after(position)) is not None
            ]
            if not pending:
                return None
            stream = min(pending)[1]
            body = self.claim(agent, stream)
            return None if body is None else (stream, body)

    def begin(
        self, agent: str, stream: str, token: str, ttl_ms: int, upto: int
    ) -> tuple[bool, str | None, tuple[int, int] | None]:
        """See :meth:`bus.store.base.Store.begin`."""
        now = time.monotonic()
        with self._lock:
            held = self._leases.get((agent, stream))
            if held is not None and held[0] != token and held[1] > now:
                return False, None, None
            self._leases[(agent, stream)] = (token, now + ttl_ms / 1000)
            position = self._positions.get(agent, {}).get(stream)
            entry = None if position is None else self._logs[stream].after(position)
            if entry is None or entry[0] > upto:
                del self._leases[(agent, stream)]
                return True, None, None
            failure = self._failures.get((agent, stream))
            if failure is None or failure[0] != entry[0]:
                return True, entry[2], None
            return True, entry[2], (failure[1], failure[2])

    def advance(
        self, agent: str, stream: str, token: str, ttl_ms: int, seq: int, upto: int
    ) -> tuple[bool, str | None, tuple[int, int] | None]:
        """See :meth:`bus.store.base.Store.advance`."""
        with self._lock:
            positions = self._positions.get(agent, {})
            position = positions.get(stream)
            if position is not None and position < seq:
                positions[stream] = seq
                self._failures.pop((agent, stream), None)
            return self.begin(agent, stream, token, ttl_ms, upto)

    def release_lease(self, agent: str, stream: str, token: str) -> None:
        """See :meth:`bus.store.base.Store.release_lease`."""
        with self._lock:
            held = self._leases.get((agent, stream))
            if held is not None and held[0] == token:
                del self._leases[(agent, stream)]

    def renew_lease(self, agent: str, stream: str, token: str, ttl_ms: int) -> bool:
        """See :meth:`bus.store.base.Store.renew_lease`."""
        now = time.monotonic()
        with self._lock:
            held = self._leases.get((agent, stream))
            if held is None or held[0] != token or held[1] <= now:
                return False
            self._leases[(agent, stream)] = (token, now + ttl_ms / 1000)
            return True

    def record_failure(self, agent: str, stream: str, seq: int, not_before_ms: int) -> int:
        """See :meth:`bus.store.base.Store.record_failure`."""
        with self._lock:
            previous = self._failures.get((agent, stream))
            attempts = previous[1] + 1 if previous is not None and previous[0] == seq else 1
            self._failures[(agent, stream)] = (seq, attempts, not_before_ms)
            return attempts

    def backlog(self, agent: str) -> list[tuple[str, int, int]]:
        """See :meth:`bus.store.base.Store.backlog`."""
        with self._lock:
            return sorted(
                (stream, position, self._logs[stream].head)
                for stream, position in self._positions.get(agent, {}).items()
                if self._logs[stream].head > position
            )

    def open_reply(self, correlation_id: str, responder: str, ttl_ms: int) -> None:
        """See :meth:`bus.store.base.Store.open_reply` (the waiter closes it; no expiry)."""
        with self._lock:
            self._replies[correlation_id] = (responder, queue.Queue())

    def put_reply(self, correlation_id: str, sender: str, body: str) -> bool:
        """See :meth:`bus.store.base.Store.put_reply`."""
        with self._lock:
            waiting = self._replies.get(correlation_id)
        if waiting is None or waiting[0] != sender:
            return False
        waiting[1].put(body)
        return True

    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        """See :meth:`bus.store.base.Store.wait_reply`."""
        with self._lock:
            waiting = self._replies.get(correlation_id)
        if waiting is None:
            return None
        try:
            return waiting[1].get(timeout=timeout)
        except queue.Empty:
            return None

    def close_reply(self, correlation_id: str) -> None:
        """See :meth:`bus.store.base.Store.close_reply`."""
        with self._lock:
            self._replies.pop(correlation_id, None)

"""The log half of :class:`~bus.store.memory.MemoryStore`: each stream's retained entries,
history, positions and claims (see :class:`~bus.store.base.Log`)."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import defaultdict, deque
from dataclasses import dataclass, field

from bus.channels import Retention
from bus.store.results import Entry


@dataclass
class StreamLog:
    """One stream's log in memory: its head and retained entries."""

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


class MemoryLog:
    """Reading the logs; mixed into the store, whose state it uses."""

    _lock: threading.RLock
    _logs: defaultdict[str, StreamLog]
    _positions: defaultdict[str, dict[str, int]]
    _leases: dict[tuple[str, str], tuple[str, float]]
    #: stream -> agent -> the seq whose delivery is outstanding (coalesced deliveries)
    _signals: defaultdict[str, dict[str, int]]

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

    def _drained(self, agent: str, stream: str) -> None:
        """The agent found nothing pending on ``stream``: its next message wakes it."""
        signals = self._signals.get(stream)
        if signals:
            signals.pop(agent, None)

    def claim(self, agent: str, stream: str) -> Entry | None:
        with self._lock:
            if self._leased(agent, stream):
                return None
            found = self._next(agent, stream)
            if found is None:
                self._drained(agent, stream)
                return None
            skipped = found[0] - self._positions[agent][stream] - 1
            self._positions[agent][stream] = found[0]
            return Entry(stream, found[0], found[2], skipped)

    def claim_any(self, agent: str) -> Entry | None:
        with self._lock:
            pending = []
            for stream in self._positions.get(agent, {}):
                if self._leased(agent, stream):
                    continue
                found = self._next(agent, stream)
                if found is None:
                    self._drained(agent, stream)
                else:
                    pending.append((found[1], stream))
            return self.claim(agent, min(pending)[1]) if pending else None

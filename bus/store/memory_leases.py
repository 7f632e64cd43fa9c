"""The lease half of :class:`~bus.store.memory.MemoryStore` (see
:class:`~bus.store.base.Leases`): leases expire on the monotonic clock, as Redis's do."""

from __future__ import annotations

import threading
import time

from bus.store.results import Batch, Entry, Failure, Lag, Step


class MemoryLeases:
    """Leases, failures and backlogs in memory; mixed into the store, whose state it uses."""

    _lock: threading.RLock
    _positions: dict[str, dict[str, int]]
    _leases: dict[tuple[str, str], tuple[str, float]]
    _failures: dict[tuple[str, str], tuple[int, int, int]]

    def _drained(self, agent: str, stream: str) -> None:
        raise NotImplementedError  # the store's

    def _next(self, agent: str, stream: str) -> tuple[int, int, str] | None:
        raise NotImplementedError  # the store's

    def _following(self, stream: str, seq: int, limit: int) -> list[tuple[int, int, str]]:
        raise NotImplementedError  # the store's

    def head(self, stream: str) -> int:
        raise NotImplementedError  # the store's

    def begin(self, agent: str, stream: str, token: str, ttl_ms: int, upto: int) -> Step:
        now = time.monotonic()
        with self._lock:
            held = self._leases.get((agent, stream))
            if held is not None and held[0] != token and held[1] > now:
                return Step(False)
            found = self._next(agent, stream)
            if found is None or found[0] > upto:
                self._leases.pop((agent, stream), None)
                if found is None:
                    self._drained(agent, stream)
                return Step(True)
            self._leases[(agent, stream)] = (token, now + ttl_ms / 1000)
            entry = Entry(stream, found[0], found[2], found[0] - self._positions[agent][stream] - 1)
            failure = self._failures.get((agent, stream))
            if failure is None or failure[0] != found[0]:
                return Step(True, entry)
            return Step(True, entry, Failure(failure[1], failure[2]))

    def advance(
        self, agent: str, stream: str, token: str, ttl_ms: int, seq: int, upto: int
    ) -> Step:
        with self._lock:
            held = self._leases.get((agent, stream))
            if held is not None and held[0] != token and held[1] > time.monotonic():
                return Step(False)  # lapsed and taken over: the new owner has the order
            positions = self._positions.get(agent, {})
            position = positions.get(stream)
            if position is not None and position < seq:
                positions[stream] = seq
                self._failures.pop((agent, stream), None)
            return self.begin(agent, stream, token, ttl_ms, upto)

    def take(
        self, agent: str, stream: str, token: str, ttl_ms: int, commit: int, limit: int
    ) -> Batch:
        now = time.monotonic()
        with self._lock:
            held = self._leases.get((agent, stream))
            if held is not None and held[0] != token and held[1] > now:
                return Batch(False)
            positions = self._positions.get(agent, {})
            position = positions.get(stream)
            if position is not None and commit > position:
                positions[stream] = position = commit
            found = (
                [] if position is None or limit <= 0 else self._following(stream, position, limit)
            )
            if not found:
                self._leases.pop((agent, stream), None)
                if position is not None and limit > 0:
                    self._drained(agent, stream)
                return Batch(True)
            positions[stream], skipped = found[0][0], found[0][0] - (position or 0) - 1
            if len(found) > 1:
                self._leases[(agent, stream)] = (token, now + ttl_ms / 1000)
            else:
                self._leases.pop((agent, stream), None)
            return Batch(
                True,
                tuple(
                    Entry(stream, seq, body, skipped if not index else 0)
                    for index, (seq, _, body) in enumerate(found)
                ),
            )

    def release_lease(self, agent: str, stream: str, token: str) -> None:
        with self._lock:
            held = self._leases.get((agent, stream))
            if held is not None and held[0] == token:
                del self._leases[(agent, stream)]

    def renew_lease(self, agent: str, stream: str, token: str, ttl_ms: int) -> bool:
        now = time.monotonic()
        with self._lock:
            held = self._leases.get((agent, stream))
            if held is None or held[0] != token or held[1] <= now:
                return False
            self._leases[(agent, stream)] = (token, now + ttl_ms / 1000)
            return True

    def record_failure(self, agent: str, stream: str, seq: int, not_before_ms: int) -> int:
        with self._lock:
            previous = self._failures.get((agent, stream))
            attempts = previous[1] + 1 if previous is not None and previous[0] == seq else 1
            self._failures[(agent, stream)] = (seq, attempts, not_before_ms)
            return attempts

    def backlog(self, agent: str) -> list[Lag]:
        with self._lock:
            return sorted(
                Lag(stream, position, head)
                for stream, position in self._positions.get(agent, {}).items()
                if (head := self.head(stream)) > position
            )

"""The liveness part of :class:`~bus.store.memory.MemoryStore` (see
:class:`~bus.store.contracts.liveness.LivenessStore`): records lapse on the monotonic clock, as
leases do; last seen is wall-clock time."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bus.store.contracts.liveness import KEEP_WORKERS_MS, RECENT_MS, LivenessStore
from bus.store.memory.tables import MemoryTables
from bus.store.results import WorkerRecord


class MemoryLiveness(LivenessStore):
    """Worker liveness records in memory.

    Args:
        tables: The store's state.
    """

    def __init__(self, tables: MemoryTables) -> None:
        self._tables = tables

    def beat(self, worker: str, ttl_ms: int, agents: Sequence[str]) -> dict[str, bool]:
        tables = self._tables
        now = time.monotonic()
        with tables.lock:
            tables.workers[worker] = (now + ttl_ms / 1000, _now_ms(), tuple(agents))
            forget = now - KEEP_WORKERS_MS / 1000
            for name, (until, _, _) in list(tables.workers.items()):
                if until < forget:
                    del tables.workers[name]
            recent = now - RECENT_MS / 1000
            return {
                name: until > now
                for name, (until, _, _) in tables.workers.items()
                if until >= recent
            }

    def stopped(self, worker: str) -> None:
        tables = self._tables
        with tables.lock:
            record = tables.workers.get(worker)
            if record is not None:
                tables.workers[worker] = (time.monotonic(), _now_ms(), record[2])

    def workers(self) -> list[WorkerRecord]:
        tables = self._tables
        now = time.monotonic()
        with tables.lock:
            return sorted(
                WorkerRecord(name, agents, seen, until > now)
                for name, (until, seen, agents) in tables.workers.items()
            )


def _now_ms() -> int:
    return int(time.time() * 1000)

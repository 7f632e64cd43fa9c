"""The liveness part of :class:`~bus.store.redis.RedisStore` (see
:class:`~bus.store.contracts.liveness.LivenessStore`): two hashes, on the server's clock, so
the workers of a bus agree on who is alive whatever their own clocks say."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bus.store.contracts.liveness import KEEP_WORKERS_MS, RECENT_MS, LivenessStore
from bus.store.redis.namespace import RedisNamespace
from bus.store.results import WorkerRecord


class RedisLiveness(LivenessStore):
    """Worker liveness records in Redis.

    Args:
        space: The store's namespace on its server.
    """

    def __init__(self, space: RedisNamespace) -> None:
        self._space = space
        self._keys = space.keys

    def beat(self, worker: str, ttl_ms: int, agents: Sequence[str]) -> dict[str, bool]:
        keys = self._keys
        flat = self._space.run(
            "beat",
            [keys.alive, keys.workers],
            [worker, ttl_ms, json.dumps(list(agents)), KEEP_WORKERS_MS, RECENT_MS],
        )
        return {flat[i]: bool(int(flat[i + 1])) for i in range(0, len(flat), 2)}

    def stopped(self, worker: str) -> None:
        self._space.run("stopped", [self._keys.alive], [worker])

    def workers(self) -> list[WorkerRecord]:
        keys = self._keys
        pipe = self._space.client.pipeline(transaction=True)
        pipe.time()
        pipe.hgetall(keys.alive)
        pipe.hgetall(keys.workers)
        (seconds, micros), alive, hosted = pipe.execute()
        now = seconds * 1000 + micros // 1000
        found = []
        for worker, record in alive.items():
            until, _, seen = record.partition(":")
            agents = tuple(json.loads(hosted.get(worker, "[]")))
            found.append(WorkerRecord(worker, agents, int(seen), int(until) > now))
        return sorted(found)

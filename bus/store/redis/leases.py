"""The lease part of :class:`~bus.store.redis.RedisStore` (see
:class:`~bus.store.contracts.leases.LeaseStore`): what a worker needs to run an agent's handlers
for a stream in order."""

from __future__ import annotations

import time
from typing import Any

from bus.store.contracts.leases import LeaseStore
from bus.store.contracts.liveness import token_worker
from bus.store.redis.namespace import RedisNamespace
from bus.store.results import Batch, Entry, Failure, Holder, Lag, Step


def _holder(reply: list[Any]) -> Holder:
    """Who holds the lease, from a step's ``{0, holding token, ms it lasts}``."""
    return Holder(token_worker(reply[1]), max(0, int(reply[2])))


class RedisLeases(LeaseStore):
    """Leases, failures and backlogs in Redis.

    Args:
        space: The store's namespace on its server.
    """

    def __init__(self, space: RedisNamespace) -> None:
        self._keys = space.keys
        self._run = space.run
        self._epochs = space.epochs

    def _step(self, script: str, agent: str, stream: str, args: list[Any]) -> Step:
        keys = self._keys
        reply = self._run(
            script,
            [
                keys.lease(agent, stream),
                keys.positions(agent),
                keys.heads,
                keys.log(stream),
                keys.failures(agent),
                keys.epoch,
                keys.signals(stream),
                keys.alive,
                keys.started(stream),
                keys.notes(stream),
                keys.trimmed(stream),
                keys.indexed(stream),
            ],
            [stream, *args, agent],
        )
        if not reply[0]:
            return Step(False, holder=_holder(reply))
        dead = Holder(reply[1]) if reply[1] else None
        if len(reply) == 2:
            return Step(True, holder=dead)
        failure = Failure(int(reply[5]), int(reply[6])) if int(reply[5]) >= 0 else None
        raw = reply[3]
        entry = Entry(stream, int(reply[2]), raw[raw.index(":") + 1 :], int(reply[4]))
        self._epochs.saw(stream, entry.seq)  # handed over: a failover must not lose it silently
        return Step(True, entry, failure, dead)

    def begin(self, agent: str, stream: str, token: str, ttl_ms: int, upto: int) -> Step:
        return self._step("begin", agent, stream, [token, ttl_ms, upto, self._epochs.arg])

    def advance(
        self, agent: str, stream: str, token: str, ttl_ms: int, seq: int, upto: int
    ) -> Step:
        return self._step("advance", agent, stream, [token, ttl_ms, upto, self._epochs.arg, seq])

    def take(
        self, agent: str, stream: str, token: str, ttl_ms: int, commit: int, limit: int
    ) -> Batch:
        keys = self._keys
        reply = self._run(
            "take",
            [
                keys.lease(agent, stream),
                keys.positions(agent),
                keys.heads,
                keys.log(stream),
                keys.epoch,
                keys.signals(stream),
                keys.alive,
            ],
            [stream, token, ttl_ms, commit, limit, self._epochs.arg, agent],
        )
        if not reply[0]:
            return Batch(False)
        if len(reply) == 1:
            return Batch(True)
        first, skipped = int(reply[1]), int(reply[2])
        return Batch(
            True,
            tuple(
                Entry(stream, first + index, raw[raw.index(":") + 1 :], skipped if not index else 0)
                for index, raw in enumerate(reply[3:])
            ),
        )

    def release_lease(self, agent: str, stream: str, token: str) -> None:
        self._run("release_lease", [self._keys.lease(agent, stream)], [token])

    def renew_lease(self, agent: str, stream: str, token: str, ttl_ms: int) -> bool:
        return bool(self._run("renew_lease", [self._keys.lease(agent, stream)], [token, ttl_ms]))

    def record_failure(
        self, agent: str, stream: str, seq: int, not_before_ms: int, error: str | None = None
    ) -> int:
        keys = self._keys
        return int(
            self._run(
                "record_failure",
                [
                    keys.failures(agent),
                    keys.notes(stream),
                    keys.trimmed(stream),
                    keys.indexed(stream),
                    keys.heads,
                ],
                [stream, seq, not_before_ms, agent, error or "", int(time.time() * 1000)],
            )
        )

    def backlog(self, agent: str) -> list[Lag]:
        flat = self._run("backlog", [self._keys.positions(agent), self._keys.heads], [])
        return sorted(
            Lag(flat[i], int(flat[i + 1]), int(flat[i + 2])) for i in range(0, len(flat), 3)
        )

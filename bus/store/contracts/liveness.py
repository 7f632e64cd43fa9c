"""The liveness part of the store contract: which worker processes are alive.

A worker process beats (:meth:`LivenessStore.beat`) every ``BUS_HEARTBEAT_SECONDS``; its record
lapses ``BUS_LIVENESS_SECONDS`` after the last beat. The lease tokens a worker takes name it
(:func:`lease_token`), so the lease steps of :class:`~bus.store.contracts.leases.LeaseStore`
treat a lease whose worker is no longer alive as free: a killed worker's streams are taken over
within seconds, not when its lease lapses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from bus.store.results import WorkerRecord

#: How long a worker's record is kept after it stopped beating (for ``bus agents``' last seen).
KEEP_WORKERS_MS = 24 * 3600 * 1000
#: How long after its record lapsed a beat still names a worker (as not alive): long enough
#: for every other worker to beat in between and notice.
RECENT_MS = 60_000


def lease_token(worker: str, run: str) -> str:
    """The lease token of one run of ``worker`` (``"<worker> <run>"``; ``worker`` has no space).

    Raises:
        ValueError: ``worker`` is empty or has whitespace.
    """
    if not worker or worker.split() != [worker]:
        raise ValueError(f"a worker id has no whitespace: {worker!r}")
    return f"{worker} {run}"


def token_worker(token: str) -> str | None:
    """The worker a lease token names, or ``None`` (a token without one: a pull reader's)."""
    worker, space, _ = token.partition(" ")
    return worker if space and worker else None


class LivenessStore(ABC):
    """Which worker processes are alive: one record per worker, renewed by its beats."""

    @abstractmethod
    def beat(self, worker: str, ttl_ms: int, agents: Sequence[str]) -> dict[str, bool]:
        """Record that ``worker`` is alive for ``ttl_ms`` more and hosts ``agents``; forget
        records that lapsed more than :data:`KEEP_WORKERS_MS` ago.

        Returns:
            Whether each worker is alive: those alive now (``worker`` included) and those whose
            record lapsed less than :data:`RECENT_MS` ago.
        """

    @abstractmethod
    def stopped(self, worker: str) -> None:
        """``worker`` stopped: not alive from now on (its record stays, for last seen)."""

    @abstractmethod
    def workers(self) -> list[WorkerRecord]:
        """Every worker seen within :data:`KEEP_WORKERS_MS`, sorted by id."""

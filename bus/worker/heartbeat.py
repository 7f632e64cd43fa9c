"""A worker process's heartbeat: its liveness record in the store, and noticing the workers that
stopped beating.

Every ``BUS_HEARTBEAT_SECONDS`` a thread of the process renews its record
(:meth:`~bus.store.contracts.liveness.LivenessStore.beat`), which lapses
``BUS_LIVENESS_SECONDS`` after the last beat. The beat answers which workers are alive, and
which stopped beating within the last minute; one not alive that was not so at the previous
beat was killed, hung or cut off (or stopped), and its leases are free (the lease steps check
the holder's record): ``on_gone`` is told at once, so the process resumes the streams it hosts
that are behind, instead of waiting for the lease to lapse and a sweep to find them. A thread
of its own, not Celery's timer: a solo pool blocked in a task would otherwise look dead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from bus.store.contracts.liveness import LivenessStore

logger = logging.getLogger(__name__)

#: Told the workers that stopped beating since the previous beat.
OnGone = Callable[[frozenset[str]], None]


class Heartbeat:
    """Beats for worker ``worker`` (hosting ``agents``) until :meth:`stop`.

    Args:
        store: The store's liveness part.
        worker: This process's worker id (what its lease tokens name).
        agents: The agents it hosts (``bus agents`` shows them with the worker).
        interval: Seconds between beats.
        ttl: Seconds a beat keeps the record alive.
        on_gone: Told, on this thread, which workers stopped beating.
        check: Also called at each beat (the store's fencing check: a failover that lost
            messages this worker saw acknowledged is reported within a beat).
    """

    def __init__(
        self,
        store: LivenessStore,
        worker: str,
        agents: Sequence[str],
        *,
        interval: float,
        ttl: float,
        on_gone: OnGone,
        check: Callable[[], object] | None = None,
    ) -> None:
        self._store = store
        self.worker = worker
        self._agents = tuple(agents)
        self._interval = interval
        self._ttl_ms = int(ttl * 1000)
        self._on_gone = on_gone
        self._check = check
        #: The workers not alive at the previous beat (each is told to ``on_gone`` once).
        self._dead: set[str] = set()
        self._last = 0.0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bus-heartbeat", daemon=True)

    def start(self) -> None:
        """Beat once now (before this process takes any lease), then every interval."""
        self.beat()
        self._thread.start()

    def beat(self) -> None:
        """Renew the record; tell ``on_gone`` who stopped beating since the last beat."""
        try:
            workers = self._store.beat(self.worker, self._ttl_ms, self._agents)
        except Exception as exc:
            logger.warning("worker %s could not beat (%s): retrying", self.worker, exc)
            return
        if self._check is not None:
            try:
                self._check()
            except Exception as exc:
                logger.warning("worker %s could not check the store's heads: %s", self.worker, exc)
        now = time.monotonic()
        if self._last and (now - self._last) * 1000 > self._ttl_ms:
            logger.warning(
                "worker %s did not beat for %.1f s: other workers may have taken its streams "
                "over (a late commit of theirs is refused; a handler running here may have run "
                "twice)",
                self.worker,
                now - self._last,
            )
        self._last = now
        dead = {name for name, alive in workers.items() if not alive}
        gone, self._dead = frozenset(dead - self._dead), dead
        if gone:
            try:
                self._on_gone(gone)
            except Exception:
                logger.exception("resuming the streams of %s failed", ", ".join(sorted(gone)))

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            self.beat()

    def stop(self) -> None:
        """Stop beating and mark the worker stopped (its record stays, for last seen)."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self._interval + 5)
        try:
            self._store.stopped(self.worker)
        except Exception as exc:
            logger.warning("worker %s could not record that it stopped: %s", self.worker, exc)

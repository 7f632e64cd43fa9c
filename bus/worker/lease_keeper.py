"""Keeping leases alive while handlers run, with one thread per worker process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bus.channels import Stream

logger = logging.getLogger(__name__)

#: What renews a lease: ``(agent, stream, token) -> still held``.
Renew = Callable[[str, str, str], bool]


class LeaseKeeper:
    """Renews every lease this process holds, every ``ttl / 3`` seconds.

    A worker that dies stops renewing, so its leases lapse within ``ttl`` and another worker
    takes the agent's stream over.
    """

    def __init__(self, renew: Renew, ttl: float) -> None:
        self._renew = renew
        self._ttl = ttl
        self._held: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def hold(self, agent: str, stream: str, token: str) -> None:
        """Keep renewing this lease until :meth:`drop`."""
        with self._lock:
            self._held[(agent, stream)] = token
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="bus-lease-keeper", daemon=True
                )
                self._thread.start()

    def drop(self, agent: str, stream: str) -> None:
        """Stop renewing this lease."""
        with self._lock:
            self._held.pop((agent, stream), None)

    def _holds(self, agent: str, stream: str, token: str) -> bool:
        with self._lock:
            return self._held.get((agent, stream)) == token

    def stop(self) -> None:
        """End the renewing thread."""
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self._ttl / 3):
            with self._lock:
                held = list(self._held.items())
            for (agent, stream), token in held:
                try:
                    if not self._renew(agent, stream, token) and self._holds(agent, stream, token):
                        # Not a run that ended (and gave the lease up) since the snapshot.
                        logger.warning("%s lost its lease on %s", agent, Stream.parse(stream).label)
                except Exception:
                    logger.exception("renewing the lease on %s for %s failed", stream, agent)

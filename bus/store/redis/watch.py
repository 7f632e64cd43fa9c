"""What a Redis store knows of its epoch (see :class:`~bus.store.contracts.epochs.EpochStore`):
the one it adopted, who to tell about a reset, and which reset it told them about already."""

from __future__ import annotations

import logging
import threading

from bus.errors import StoreReset
from bus.store.contracts.epochs import ResetWatcher

logger = logging.getLogger(__name__)


class EpochWatch:
    """The epoch bookkeeping of one store object: shared by its parts, since every script that
    checks the epoch may be the one that notices a reset.

    Args:
        url: The store's URL, password masked (named by the errors).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        #: The epoch adopted (``None``: none; the scripts then check nothing).
        self.expected: str | None = None
        self._watchers: list[ResetWatcher] = []
        self._reported: tuple[str | None, str | None] | None = None
        #: stream -> the highest seq this process saw acknowledged on it (appended, or handed
        #: over): a head below it after a failover lost acknowledged appends (fencing).
        self.acknowledged: dict[str, int] = {}
        self._lock = threading.Lock()

    def saw(self, stream: str, seq: int) -> None:
        """Remember that ``seq`` of ``stream`` was acknowledged (or handed over)."""
        with self._lock:
            if seq > self.acknowledged.get(stream, 0):
                self.acknowledged[stream] = seq

    def forget_seen(self) -> None:
        """Forget every seq seen (the store was emptied on purpose, or lost its state)."""
        with self._lock:
            self.acknowledged.clear()

    def floor(self, stream: str) -> str:
        """What the append script is given: the highest seq seen on ``stream``, ``''`` none."""
        seen = self.acknowledged.get(stream)
        return "" if seen is None else str(seen)

    @property
    def arg(self) -> str:
        """What the scripts are given: the expected epoch, ``''`` for none."""
        return self.expected or ""

    def watch(self, watcher: ResetWatcher) -> None:
        """See :meth:`~bus.store.contracts.epochs.EpochStore.watch`."""
        self._watchers.append(watcher)

    def reset(self, found: str | None) -> StoreReset:
        """The error for a script that found ``found`` instead of :attr:`expected`; adopts
        ``found`` (if any) and tells the watchers, once per change."""
        expected = self.expected
        if found:
            self.expected = found
        self.forget_seen()  # a new epoch numbers its streams from 1 again
        error = StoreReset(
            f"the store at {self.url} lost its state (epoch {expected} is gone"
            + (f", the store now holds epoch {found}" if found else ", none established yet")
            + "): channels, agents and positions this process knew may be gone; nothing was "
            "stored by this call",
            url=self.url,
            expected=expected,
            found=found or None,
        )
        if self._reported != (expected, found or None):
            self._reported = (expected, found or None)
            for watcher in list(self._watchers):
                try:
                    watcher(error)
                except Exception:  # a watcher's failure must not hide the reset from the caller
                    logger.exception("a store-reset watcher failed")
        return error

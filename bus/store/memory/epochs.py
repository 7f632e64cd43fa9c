"""The epoch part of :class:`~bus.store.memory.MemoryStore` (see
:class:`~bus.store.contracts.epochs.EpochStore`)."""

from __future__ import annotations

from bus.store.contracts.epochs import EpochStore, ResetWatcher, new_epoch
from bus.store.memory.tables import MemoryTables
from bus.store.results import Fence


class MemoryEpochs(EpochStore):
    """The epoch of an in-process store.

    Its state lives as long as the process, so it never loses it by itself: its epoch changes
    only when the store is destroyed, and nothing checks it.

    Args:
        tables: The store's state (which holds the epoch, forgotten with the rest).
    """

    def __init__(self, tables: MemoryTables) -> None:
        self._tables = tables

    def establish(self) -> str:
        with self._tables.lock:
            if self._tables.epoch is None:
                self._tables.epoch = new_epoch()
            return self._tables.epoch

    def epoch(self) -> str | None:
        return self._tables.epoch

    @property
    def expected(self) -> str | None:
        return self._tables.epoch

    def verify(self) -> None:
        """Nothing to verify: see :meth:`watch`."""

    def watch(self, watcher: ResetWatcher) -> None:
        """Nothing to watch: this store never loses its state by itself."""

    def check_heads(self) -> list[Fence]:
        """Nothing to fence: this store is the process's own, it has no replicas to lose."""
        return []

    def fences(self) -> list[Fence]:
        """None: see :meth:`check_heads`."""
        return []

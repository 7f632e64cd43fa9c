"""The in-process store: the default with ``memory://``; one process, no server.

It follows :class:`~bus.store.redis.RedisStore` step for step (the contract suite runs both),
down to what Redis gives for free: leases and reply boxes expire, ``since`` is found by a
binary search on append times, and ties between streams go to the smaller stream id.

One module per part of the contract (:mod:`bus.store.contracts`), each a small class over the
store's one :class:`~bus.store.memory.tables.MemoryTables`.
"""

from __future__ import annotations

from bus.store.contracts import Store
from bus.store.memory.epochs import MemoryEpochs
from bus.store.memory.guards import MemoryGuards
from bus.store.memory.leases import MemoryLeases
from bus.store.memory.liveness import MemoryLiveness
from bus.store.memory.log import MemoryLog
from bus.store.memory.receipts import MemoryReceipts
from bus.store.memory.registry import MemoryRegistry
from bus.store.memory.replies import MemoryReplies
from bus.store.memory.tables import MemoryTables

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """A :class:`~bus.store.contracts.Store` in this process's memory, safe across threads."""

    waits_on_server = False

    def __init__(self) -> None:
        tables = self._tables = MemoryTables()
        super().__init__(
            registry=MemoryRegistry(tables),
            log=MemoryLog(tables),
            leases=MemoryLeases(tables),
            liveness=MemoryLiveness(tables),
            replies=MemoryReplies(tables),
            epochs=MemoryEpochs(tables),
            receipts=MemoryReceipts(tables),
            guards=MemoryGuards(tables),
        )

    def ping(self) -> None:
        """Always reachable."""

    def close(self) -> None:
        """Nothing to release."""

    def destroy(self) -> None:
        self._tables.clear()

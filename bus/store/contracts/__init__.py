"""The store contract: one abstract class per part, and :class:`Store`, the whole.

A store is made of eight parts, each a contract of its own module: :class:`RegistryStore`
(channels, agents, memberships), :class:`LogStore` (appends, history, positions, claims),
:class:`LeaseStore` (what a worker needs to run an agent's handlers in order, at least once),
:class:`LivenessStore` (which worker processes are alive), :class:`ReplyStore` (request/reply
boxes), :class:`EpochStore` (which state the store holds, and noticing its loss) and
:class:`ReceiptStore` (what became of a message, for each member) and :class:`GuardStore`
(circuits, spend and agents' own limits: what the append's guards keep).
:class:`Store` holds one of each, so a service asks only for the part it uses
(``store.log.append(...)``), and adds the store's own lifecycle.

The implementations, :class:`~bus.store.memory.MemoryStore` (one process) and
:class:`~bus.store.redis.RedisStore` (shared by every process), have one module per part in
:mod:`bus.store.memory` and :mod:`bus.store.redis`, named as here; the contract suite in
``tests/store`` (``test_<part>.py``) holds both to the same behaviour.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from bus.store.contracts.epochs import EpochStore, ResetWatcher, new_epoch
from bus.store.contracts.guards import GuardStore
from bus.store.contracts.leases import LeaseStore
from bus.store.contracts.liveness import LivenessStore
from bus.store.contracts.log import LogStore
from bus.store.contracts.receipts import ReceiptStore
from bus.store.contracts.registry import RegistryStore
from bus.store.contracts.replies import ReplyStore

__all__ = [
    "EpochStore",
    "GuardStore",
    "LeaseStore",
    "LivenessStore",
    "LogStore",
    "ReceiptStore",
    "RegistryStore",
    "ReplyStore",
    "ResetWatcher",
    "Store",
    "new_epoch",
]


class Store(ABC):
    """What the bus needs from the place its state lives: its eight parts, and its lifecycle.

    Args:
        registry: Channels, agents and memberships.
        log: The streams' logs and each reader's position.
        leases: Leases, failed attempts and backlogs.
        liveness: Which worker processes are alive.
        replies: Request/reply boxes.
        epochs: The epoch the store holds and the one this process adopted.
        receipts: The message-id index, audiences and exception notes.
        guards: Circuits, spend and agents' own limits.
    """

    def __init__(
        self,
        *,
        registry: RegistryStore,
        log: LogStore,
        leases: LeaseStore,
        liveness: LivenessStore,
        replies: ReplyStore,
        epochs: EpochStore,
        receipts: ReceiptStore,
        guards: GuardStore,
    ) -> None:
        self.registry = registry
        self.log = log
        self.leases = leases
        self.liveness = liveness
        self.replies = replies
        self.epochs = epochs
        self.receipts = receipts
        self.guards = guards

    #: Whether its calls wait on a server (Redis): a worker's event loop makes them on its I/O
    #: threads. The in-process store's calls only take its lock, and are made on the loop.
    waits_on_server = True

    @abstractmethod
    def ping(self) -> None:
        """Raise if the store cannot be reached."""

    def is_cluster_node(self) -> bool:
        """Whether the server is a node of a Redis Cluster, which a bus refuses (kombu and
        Celery do not support one; the store's scripts alone would run on it). ``False`` for a
        store that has no server."""
        return False

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @abstractmethod
    def destroy(self) -> None:
        """Delete everything this store holds for its namespace."""

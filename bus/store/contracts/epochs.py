"""The epoch part of the store contract: which state a store holds, and noticing its loss."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable

from bus.errors import StoreReset
from bus.store.results import Fence


def new_epoch() -> str:
    """A fresh epoch id."""
    return uuid.uuid4().hex


#: Called with the error when a store notices it lost its state.
ResetWatcher = Callable[[StoreReset], None]


class EpochStore(ABC):
    """Which state a store holds: an *epoch*, a random id written when a bus first uses it.

    A process adopts the epoch when it starts (:meth:`establish`); the steps that append and
    hand messages over (``append``, ``claim`` and ``claim_any`` of
    :class:`~bus.store.contracts.log.LogStore`, ``begin`` and ``advance`` of
    :class:`~bus.store.contracts.leases.LeaseStore`) check it atomically and raise
    :class:`~bus.errors.StoreReset` instead of acting on a store that lost its state. On a reset
    the store adopts the epoch it now holds (if one was established again) and tells each
    watcher once per change. A store no process established checks nothing.

    A failover can also lose only the newest appends (Redis replicates asynchronously): the
    promoted replica holds the epoch, but a stream's head is below a seq a client saw
    acknowledged. Each process remembers the highest seq it saw per stream (appended, or
    handed over); an append whose stream is below it, or :meth:`check_heads`, *fences* the
    stream: the lost seqs are burnt (readers skip them, loudly; no other message gets them),
    recorded (:meth:`fences`) and logged at ERROR with the exact range.
    """

    @abstractmethod
    def establish(self) -> str:
        """Write a new epoch unless the store holds one, adopt the one it holds, return it."""

    @abstractmethod
    def epoch(self) -> str | None:
        """The epoch the store holds now (``None``: none; it lost its state, or is new).

        Raises:
            StoreUnavailable: the server reached is a replica (an old master back, found by a
                sentinel behind a failover) and holds another epoch: its dataset is not the
                store's, so that is no reset (a worker's recovery would re-register for
                nothing); try again.
        """

    @property
    @abstractmethod
    def expected(self) -> str | None:
        """The epoch this process adopted (``None``: it established none)."""

    @abstractmethod
    def verify(self) -> None:
        """Raise :class:`~bus.errors.StoreReset` if the store holds another epoch than the
        adopted one (for a caller that found something missing and must tell why)."""

    @abstractmethod
    def watch(self, watcher: ResetWatcher) -> None:
        """Call ``watcher`` when a reset is noticed (once per epoch change)."""

    @abstractmethod
    def check_heads(self) -> list[Fence]:
        """Fence each stream whose head is below the highest seq this process saw on it;
        the fences put up now (see the class doc)."""

    @abstractmethod
    def fences(self) -> list[Fence]:
        """The fences the store recorded (the newest 1000), oldest first."""

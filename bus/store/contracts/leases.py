"""The lease part of the store contract: what a worker's stream run and a batching pull reader
need to own an agent's stream for a while, in order, at least once."""

from __future__ import annotations

from abc import ABC, abstractmethod

from bus.store.pushed import (
    ReceiptDraft,
)
from bus.store.results import (
    Batch,
    Lag,
    Step,
)


class LeaseStore(ABC):
    """What a worker needs to run an agent's handlers for a stream in order, at least once: a
    lease per ``(agent, stream)``, the failed attempts at the next message, the backlog.

    A lease is *free* when nobody holds it, when it lapsed, or when the worker its token names
    (:func:`~bus.store.contracts.liveness.lease_token`) is no longer alive
    (:class:`~bus.store.contracts.liveness.LivenessStore`): :meth:`begin` and :meth:`take`
    take a free lease, in the same atomic step that checks it.
    """

    @abstractmethod
    def begin(self, agent: str, stream: str, token: str, ttl_ms: int, upto: int) -> Step:
        """Take the lease that lets one worker at a time run the agent's handlers for
        ``stream`` for ``ttl_ms`` (or extend it, if ``token`` holds it), and read what comes
        next.

        Returns:
            ``Step(False, holder=...)`` if another token holds the lease (its worker, and how
            long the lease lasts unless renewed). Otherwise ``held``, the next message after
            the agent's position if its seq is at most ``upto`` (else ``None``, and the lease is
            given up), the earlier failed attempts at that message, and ``holder``: the worker
            no longer alive whose lease was taken over, if it was.
        """

    @abstractmethod
    def advance(
        self,
        agent: str,
        stream: str,
        token: str,
        ttl_ms: int,
        seq: int,
        upto: int,
        receipt: ReceiptDraft | None = None,
    ) -> Step:
        """Move the agent's position on ``stream`` up to ``seq`` (handled, or given up on;
        never back), forget its failures, then read on like :meth:`begin`; ``Step(False)``
        and nothing moved if another token holds the lease (``token``'s lapsed and was
        taken over: a late commit must not move the new owner's position), alive or not.

        With a ``receipt``, in the same step: if the position moved and ``receipt.sender``
        consumes receipts (:meth:`~bus.store.contracts.receipts.ReceiptStore.consume`), the
        receipt is appended to the sender's inbox as a message (indexed, trimmed to its
        retention, its wake-up signal set with coalesced deliveries) and ``Step.pushed`` says
        at which seq; a draft without a body moves nothing then and answers
        ``Pushed(wanted=True)``. For a sender that consumes none, the step reads one flag."""

    @abstractmethod
    def take(
        self,
        agent: str,
        stream: str,
        token: str,
        ttl_ms: int,
        commit: int,
        limit: int,
        receipt: ReceiptDraft | None = None,
    ) -> Batch:
        """A pull reader's step: move the position up to ``commit`` (what it handed over;
        never back), then past the next message, handed over as by
        :meth:`~bus.store.contracts.log.LogStore.claim`, and hold up to ``limit - 1`` after it
        under the lease for ``ttl_ms``. Held messages are not the position until a later call
        commits them: a reader that dies holding them leaves them to the next once the lease
        lapses. With nothing held (nothing pending, ``limit`` 0 or
        1) the lease is given up. ``Batch(False)``, nothing moved, if another token holds it.

        Pushed receipts (issue 17): the hand-over of the next message pushes a ``handled``
        receipt to its sender if the sender consumes receipts (not for a receipt, a message
        from ``bus`` or the agent's own). The step reads that from the message; if so and
        ``receipt`` is not a draft for that seq (``of_seq``), it hands nothing over and answers
        one :class:`~bus.store.results.Wanting` entry (what was committed stays committed):
        the caller calls again with the receipt, which is appended to the sender's inbox in
        the step that hands the message over (``Batch.pushed``). A batch holds no message
        after the next whose sender consumes receipts: that one is the next call's first, and
        ``Batch.ahead`` names it, so the caller can give that call its receipt up front.
        When no agent consumes receipts the step reads one key more."""

    @abstractmethod
    def release_lease(self, agent: str, stream: str, token: str) -> None:
        """Give the lease up, if ``token`` holds it, and forget that ``token``'s run started on
        the stream's next message: a run that gives its lease up (its worker stopping
        gracefully) was not lost in a handler, so the run that takes over counts no attempt."""

    @abstractmethod
    def renew_lease(self, agent: str, stream: str, token: str, ttl_ms: int) -> bool:
        """Make the lease last ``ttl_ms`` from now if ``token`` still holds it (never take a
        free or expired one); ``False`` if it does not."""

    @abstractmethod
    def record_failure(
        self,
        agent: str,
        stream: str,
        seq: int,
        not_before_ms: int,
        error: str | None = None,
        token: str | None = None,
    ) -> int:
        """Count a failed attempt at ``seq`` (the stream's next message) and when it may be
        tried again; returns the number of attempts at ``seq`` so far (a failure at another
        seq starts again from 1). The attempt's ``error`` is kept as the (message, agent)'s
        ``failed`` note (:class:`~bus.store.contracts.receipts.ReceiptStore`).

        With ``token`` (a run's, whose lease may have lapsed while its handler ran), nothing is
        recorded and 0 is returned if another token holds the agent's lease on the stream or
        the agent's position is at or past ``seq`` already: the message is another run's, or
        was committed, and a stale failure must not count toward its dead letter nor replace
        the note of what became of it."""

    @abstractmethod
    def backlog(self, agent: str) -> list[Lag]:
        """Every stream where the agent's position is behind the head, sorted by stream id."""

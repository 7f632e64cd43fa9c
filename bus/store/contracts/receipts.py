"""The receipts part of the store contract: what became of a message, for each member.

Nothing here is written per member in the normal case. A message's state for a member is
derived from what the other parts keep anyway (its position, its lease, its failed attempts);
the append step writes the log's message index (``LogStore.find``'s, one entry per message,
kept for :data:`~bus.store.message_facts.INDEX_FACTOR` times the stream's retention) and the
stream's audience (who was a member when it was stored: one record per change of membership,
not per message). Only what went otherwise is noted per (message, member): a failed attempt's
error, a dead letter, a refusal, a skip (one note per skipped range).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from bus.store.message_facts import DeliveryFacts, Note
from bus.store.pushed import (
    Pushed,
    ReceiptDraft,
    Skipped,
)


class ReceiptStore(ABC):
    """What the message index, the audiences and the notes of what went otherwise say."""

    @abstractmethod
    def facts(self, message_id: str) -> DeliveryFacts | None:
        """Everything kept of message ``message_id`` and of each member it was stored for.

        Returns:
            ``None`` if the index does not know the id: never appended with it, appended to
            another namespace, or older than the index keeps.
        """

    @abstractmethod
    def note(
        self, stream: str, seq: int, agent: str, note: Note, receipt: ReceiptDraft | None = None
    ) -> Pushed | None:
        """Keep ``note`` for message ``seq`` of ``stream`` and ``agent`` (replacing an earlier
        one); notes of messages the index forgot are dropped on the way. With ``receipt``
        (a request's ``replied`` note: the outcome its pushed receipt reports), the same step
        appends it to its sender's inbox if the sender consumes receipts, as
        :meth:`~bus.store.contracts.leases.LeaseStore.advance` does, and says what it did."""

    @abstractmethod
    def consume(self, agent: str, on: bool, *, hosted: bool = False) -> None:
        """Make ``agent`` a consumer of pushed receipts (``on``), or no longer one: the advance
        step appends the receipts of the messages it sent to its inbox
        (:meth:`~bus.store.contracts.leases.LeaseStore.advance`). A ``hosted`` consumer (a
        worker's run, which reads its inbox until drained) is woken once per burst, as with
        coalesced deliveries; any other once per receipt unless deliveries are coalesced."""

    @abstractmethod
    def consumers(self) -> set[str]:
        """The agents that consume pushed receipts."""

    @abstractmethod
    def note_skipped(
        self,
        agent: str,
        stream: str,
        first: int,
        last: int,
        at_ms: int,
        receipts: Sequence[ReceiptDraft] | None = None,
    ) -> Skipped:
        """Note that retention trimmed ``first`` to ``last`` of ``stream`` before ``agent``
        read them (one note for the range).

        Pushed receipts (issue 17): if some of them, still known to the message index, are
        from senders that consume receipts (not ``bus``, not the agent), and ``receipts`` is
        ``None``, nothing is noted and :attr:`Skipped.runs` names one run per such sender
        (its first message, seqs and count); called again with one draft per run (``()``:
        none), it notes the skip and appends the receipts in the same step. With no consumer
        at all, the step reads one key more than the note."""

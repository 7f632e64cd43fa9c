"""The log part of the store contract: numbered appends per stream, history, positions, claims.

A *stream* is what has one order: a channel (``c:<name>``) or an agent's direct-message inbox
(``d:<agent>``; :mod:`bus.channels` owns the format). Each append gets the stream's next
sequence number; each agent keeps a position per stream it reads, and :meth:`LogStore.claim`
hands out the next message after it exactly once.

The log also keeps an index of messages, written in the same atomic step as each append and
bounded by retention: a message id to its stream and seq (:meth:`LogStore.find`), and a
causation id to the messages it caused (:meth:`LogStore.caused`). ``bus trace`` walks it, and
receipts (``status``) read it; for them it keeps a trimmed message's id (not its body) for
another ``(INDEX_FACTOR - 1) * max_messages`` appends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from bus.channels import ChannelSpec, Retention
from bus.store.contracts.guards import Checks
from bus.store.message_facts import Traced
from bus.store.pushed import ReceiptDraft
from bus.store.results import Appended, Batch, Dedupe, Entry


class LogStore(ABC):
    """Per-stream logs: numbered appends, retention, history, and each reader's position."""

    @abstractmethod
    def append(
        self,
        stream: str,
        body: str,
        now_ms: int,
        retention: Retention,
        *,
        channel: ChannelSpec | None = None,
        dedupe: Dedupe | None = None,
        coalesce: bool = False,
        message_id: str | None = None,
        causation_id: str | None = None,
        sender: str = "",
        checks: Checks | None = None,
    ) -> Appended:
        """Append a message and trim the stream to ``retention``.

        Args:
            stream: The stream id.
            body: The message's JSON, an object encoded without ``seq``; kept as given.
            now_ms: The append time (epoch ms): what age retention and ``since_ms`` read. A
                stream's append times are expected not to go back (a binary search finds
                ``since_ms``).
            retention: How many messages, and for how long, the stream keeps: count first,
                then age (a message exactly ``max_age_seconds`` old stays).
            channel: The spec the caller holds of the stream's channel: the append happens only
                if the channel exists with that spec's ``version``.
            dedupe: An idempotency key: see :class:`~bus.store.results.Dedupe`.
            coalesce: Wake only recipients with no delivery outstanding on the stream
                (``Appended.woken``); a recipient's signal is cleared when a claim, take or
                step of it finds the stream drained, or it leaves the channel.
            message_id: The message's id, to index it (:meth:`find`); ``None``: not indexed.
                An id the index already holds keeps its first place (:meth:`placed`).
            causation_id: The id of the message that caused it, to index it under that
                (:meth:`caused`), which forgets it when retention trims the message.
            sender: The message's sender, kept with its id. The id itself stays indexed a while
                after the trim (:data:`~bus.store.message_facts.INDEX_FACTOR`), so receipts can tell
                a trimmed message from an unknown one; :meth:`find` returns retained ones only.
                With an id, the append also records a channel's audience if it differs from the
                last one recorded (see :class:`~bus.store.contracts.receipts.ReceiptStore`).
            checks: The guards the append must pass first, in the same atomic step (see
                :mod:`bus.store.contracts.guards`): a refusal stores nothing; a channel
                member over its ``max_pending`` on a drop-oldest channel gets an
                ``overloaded`` note (``Appended.overloaded``).

        Returns:
            The message's seq and its recipients (or, for a duplicate, the first one's seq).

        Raises:
            UnknownChannel: ``channel`` is given and does not exist (any more).
            ChannelChanged: ``channel`` is given and its stored version differs.
            HopLimitExceeded, CircuitOpen, BudgetExceeded, AgentOverloaded: the guards
                refused (see :func:`~bus.store.contracts.guards.guard_refusal`).
            StoreReset: the store lost the state this process knew (see
                :class:`~bus.store.contracts.epochs.EpochStore`).
        """

    @abstractmethod
    def unsignal(self, stream: str, agents: Sequence[str]) -> None:
        """Clear the agents' signals on ``stream`` (see ``append(coalesce=True)``): their
        deliveries could not be published, so the next append must wake them again."""

    @abstractmethod
    def history(
        self,
        stream: str,
        *,
        newest: int | None = None,
        after: int | None = None,
        since_ms: int | None = None,
    ) -> list[Entry]:
        """Retained messages oldest first: those after seq ``after``, appended at or after
        ``since_ms``, and of those the ``newest`` last ones (each filter optional)."""

    @abstractmethod
    def head(self, stream: str) -> int:
        """The stream's last sequence number (0 when nothing was ever appended)."""

    @abstractmethod
    def retained(self, stream: str) -> int:
        """How many messages the stream keeps now."""

    @abstractmethod
    def position(self, agent: str, stream: str) -> int | None:
        """The last seq handed to ``agent`` on ``stream``; ``None`` if it does not read it."""

    @abstractmethod
    def claim(self, agent: str, stream: str) -> Entry | None:
        """Hand the next retained message after the agent's position to it, exactly once.

        Atomically advances the position past it (skipping what retention trimmed); ``None``
        if nothing is pending or the agent does not read the stream.
        """

    @abstractmethod
    def claim_any(self, agent: str, receipt: ReceiptDraft | None = None) -> Batch:
        """Like :meth:`claim`, over every stream the agent reads: hand over the pending message
        appended first (ties go to the smaller stream id). A :class:`~bus.store.results.Batch`
        of that one entry (none: nothing is pending).

        Pushed receipts, as :meth:`~bus.store.contracts.leases.LeaseStore.take` pushes them:
        if the message's sender consumes receipts and ``receipt`` is no draft for it (its
        ``of_stream`` and ``of_seq``), nothing moves and the entry comes back as
        :class:`~bus.store.results.Wanting`: claim again with its receipt, which the step
        appends as it hands the message over (``Batch.pushed``). ``Batch.ahead``: the message
        after it in its stream if that one's sender wants a receipt, to draft for the next
        claim. A draft for another message is ignored."""

    @abstractmethod
    def find(self, message_ids: Sequence[str]) -> dict[str, Traced]:
        """The retained messages among ``message_ids`` that were appended with their id, by id
        (an id not retained, or never appended, is absent)."""

    @abstractmethod
    def placed(self, message_id: str) -> tuple[str, int] | None:
        """The stream and seq at which ``message_id`` was first appended (the index keeps the
        first place of an id: a later append of the same id is a copy), while the index still
        knows the id (:data:`~bus.store.message_facts.INDEX_FACTOR` times the stream's retention);
        ``None`` otherwise."""

    @abstractmethod
    def caused(self, message_ids: Sequence[str]) -> dict[str, list[str]]:
        """For each of ``message_ids``, the ids of the retained messages appended with it as
        their ``causation_id``, in no particular order (an empty list when none)."""

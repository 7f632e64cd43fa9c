"""The reply part of the store contract: the boxes a request waits on for its reply."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple

from bus.store.contracts.guards import Checks


class Replied(NamedTuple):
    """What :meth:`~bus.store.contracts.replies.ReplyStore.put_reply` did."""

    #: Whether the reply went into an open box (``False``: none is open for it, send it as
    #: a direct message).
    put: bool
    #: Whether this reply was the trial that closed its pair's circuit.
    closed: bool = False


class ReplyStore(ABC):
    """Request/reply boxes: a caller waits for one agent's reply to one request."""

    @abstractmethod
    def open_reply(self, correlation_id: str, responder: str, ttl_ms: int) -> None:
        """Expect, for ``ttl_ms``, a reply to ``correlation_id`` sent by ``responder``."""

    @abstractmethod
    def put_reply(
        self,
        correlation_id: str,
        sender: str,
        body: str,
        checks: Checks | None = None,
        kept: tuple[str, str] | None = None,
    ) -> Replied:
        """Put a reply from ``sender`` in the box, where it stays for
        :data:`~bus.store.results.REPLY_KEEP_MS`; not ``put`` if no box is open (any more)
        for a reply to ``correlation_id`` from ``sender``. In the same step, a reply put with
        ``kept=(its id, the id of the message that caused it)`` is kept under its cause
        (:meth:`answers`, :meth:`cause_of`) until :data:`~bus.store.results.ANSWERS_KEPT` newer
        ones were.

        With ``checks``, the guards decide in the same atomic step, as an append's do (hop
        limit, the pair's circuit, budgets and the usage the reply reports; no pending count:
        a reply in a box is in no queue). A refused reply is not put: its refusal is, in the
        words :func:`~bus.store.contracts.guards.refusal_words` gives, so the waiter wakes
        to it at once; then the refusal is raised.

        Raises:
            HopLimitExceeded, CircuitOpen, BudgetExceeded: the guards refused the reply.
        """

    @abstractmethod
    def waiting(self, correlation_id: str) -> bool:
        """Whether a box is open for a reply to ``correlation_id`` (a request still waits)."""

    @abstractmethod
    def answers(self, causes: Sequence[str]) -> dict[str, list[str]]:
        """For each of ``causes``, the replies put under it (:meth:`put_reply`'s ``kept``)
        that are still kept, oldest first (an empty list when none)."""

    @abstractmethod
    def cause_of(self, reply_id: str) -> str | None:
        """The cause a reply was kept under (:meth:`put_reply`'s ``kept``), while it is kept."""

    @abstractmethod
    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        """Take the first reply in the box, waiting up to ``timeout`` seconds (``0``: do not
        wait) for one; ``None`` if none came. A reply the guards refused is its refusal's
        words (``BUSGUARD ...``: see :func:`~bus.store.contracts.guards.refused`)."""

    @abstractmethod
    def close_reply(self, correlation_id: str) -> None:
        """Stop expecting the reply and drop what the box holds."""

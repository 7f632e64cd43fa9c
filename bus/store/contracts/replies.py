"""The reply part of the store contract: the boxes a request waits on for its reply."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence


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
        kept: tuple[str, str] | None = None,
    ) -> bool:
        """Put a reply from ``sender`` in the box, where it stays for
        :data:`~bus.store.results.REPLY_KEEP_MS`; ``False`` if no box is open (any more) for a
        reply to ``correlation_id`` from ``sender``. In the same step, a reply put with
        ``kept=(its id, the id of the message that caused it)`` is kept under its cause
        (:meth:`answers`, :meth:`cause_of`) until :data:`~bus.store.results.ANSWERS_KEPT` newer
        ones were."""

    @abstractmethod
    def cause_of(self, reply_id: str) -> str | None:
        """The cause a reply was kept under (:meth:`put_reply`'s ``kept``), while it is kept."""

    @abstractmethod
    def answers(self, causes: Sequence[str]) -> dict[str, list[str]]:
        """For each of ``causes``, the replies put under it (:meth:`put_reply`'s ``cause``)
        that are still kept, oldest first (an empty list when none)."""

    @abstractmethod
    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        """Take the first reply in the box, waiting up to ``timeout`` seconds (``0``: do not
        wait) for one; ``None`` if none came."""

    @abstractmethod
    def close_reply(self, correlation_id: str) -> None:
        """Stop expecting the reply and drop what the box holds."""

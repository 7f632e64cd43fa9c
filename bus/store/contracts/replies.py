"""The reply part of the store contract: the boxes a request waits on for its reply."""

from __future__ import annotations

from abc import ABC, abstractmethod


class ReplyStore(ABC):
    """Request/reply boxes: a caller waits for one agent's reply to one request."""

    @abstractmethod
    def open_reply(self, correlation_id: str, responder: str, ttl_ms: int) -> None:
        """Expect, for ``ttl_ms``, a reply to ``correlation_id`` sent by ``responder``."""

    @abstractmethod
    def put_reply(self, correlation_id: str, sender: str, body: str) -> bool:
        """Put a reply from ``sender`` in the box, where it stays for
        :data:`~bus.store.results.REPLY_KEEP_MS`; ``False`` if no box is open (any more) for a
        reply to ``correlation_id`` from ``sender``."""

    @abstractmethod
    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        """Take the first reply in the box, waiting up to ``timeout`` seconds (``0``: do not
        wait) for one; ``None`` if none came."""

    @abstractmethod
    def close_reply(self, correlation_id: str) -> None:
        """Stop expecting the reply and drop what the box holds."""

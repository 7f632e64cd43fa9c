"""Request/reply: a direct message, and a wait for the answer in a reply box in the store.

The box is opened before the request is sent, for the agent asked only; a direct message from
that agent carrying the request's correlation id goes into the box instead of an inbox
(:meth:`bus.publisher.Publisher.post`). The wait is on the store, never on a Celery result, so a
request works from inside a worker's handler too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

from bus.errors import BusTimeout, InvalidArgument
from bus.message import Message, MessageType, build_message
from bus.publisher import Publisher
from bus.store import Store

#: How long a reply box outlives the request's timeout (milliseconds): a late reply still finds
#: it and is dropped there instead of landing in the requester's inbox.
BOX_GRACE_MS = 60_000


class Requests:
    """Sends requests and waits for their replies."""

    def __init__(self, publisher: Publisher, store: Callable[[], Store]) -> None:
        self._publisher = publisher
        self._store = store

    def request(
        self, recipient: str, content: str, *, sender: str, timeout: float, **fields: Any
    ) -> Message:
        """See :meth:`bus.Bus.request`."""
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise InvalidArgument(f"timeout must be a number > 0, not {timeout!r}")
        store = self._store()
        correlation_id = str(uuid4())
        fields.setdefault("type", MessageType.QUESTION)
        message = build_message(
            recipient=recipient,
            sender=sender,
            content=content,
            correlation_id=correlation_id,
            reply_to=sender,
            **fields,
        )
        store.open_reply(correlation_id, recipient, int(timeout * 1000) + BOX_GRACE_MS)
        try:
            sent = self._publisher.post(message)
            body = store.wait_reply(correlation_id, timeout)
        finally:
            store.close_reply(correlation_id)
        if body is None:
            raise BusTimeout(
                f"agent {recipient!r} did not reply within {timeout} s to request {sent.id} "
                f"({content[:60]!r})",
                agent=recipient,
                request_id=str(sent.id),
                correlation_id=correlation_id,
                timeout=timeout,
            )
        return Message.from_json(body)

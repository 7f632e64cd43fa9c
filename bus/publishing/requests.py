"""Request/reply: a direct message, and a wait for the answer in a reply box in the store.

The box is opened before the request is sent, for the agent asked only; a direct message from
that agent carrying the request's correlation id goes into the box instead of an inbox
(:meth:`bus.publishing.publisher.Publisher.post`). The wait is on the store, never on a Celery
result, so a request works from inside a worker's handler too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import monotonic, time
from typing import Any
from uuid import uuid4

from bus.access.guard import Guard, OpenGuard
from bus.channels import Stream
from bus.errors import AuthenticationFailed, BusError, BusTimeout, InvalidArgument
from bus.kinds import MessageType
from bus.message import Message, build_message
from bus.publishing.limits import reply_refusal
from bus.publishing.publisher import Publisher
from bus.store import Note, Store

logger = logging.getLogger(__name__)

#: How long a reply box outlives the request's timeout (milliseconds): a late reply still finds
#: it and is dropped there instead of landing in the requester's inbox.
BOX_GRACE_MS = 60_000


#: Notes that a request was replied (``store``, the request as stored, when, in epoch ms).
Replied = Callable[[Store, Message, int], None]


class Requests:
    """Sends requests and waits for their replies.

    Args:
        publisher: Posts the requests.
        store: The started bus's store.
        guard: Admits the replies.
        replied: Notes a request replied; the bus's also pushes its ``handled`` receipt
            (:meth:`bus.reading.receipt_drafts.ReceiptDrafts.replied`). Default: the note only.
    """

    def __init__(
        self,
        publisher: Publisher,
        store: Callable[[], Store],
        guard: Guard | None = None,
        *,
        replied: Replied | None = None,
    ) -> None:
        self._publisher = publisher
        self._store = store
        self._guard = guard if guard is not None else OpenGuard()
        self._replied = replied

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
        store.replies.open_reply(correlation_id, recipient, int(timeout * 1000) + BOX_GRACE_MS)
        try:
            sent = self._publisher.post(message)
            self._note(store, sent, "requested")  # its receipt: handled means replied
            reply = self._wait(store, correlation_id, recipient, sender, timeout)
        finally:
            store.replies.close_reply(correlation_id)
        if reply is not None:
            self._note(store, sent, "replied")
        else:
            raise BusTimeout(
                f"agent {recipient!r} did not reply within {timeout} s to request {sent.id} "
                f"({content[:60]!r})",
                agent=recipient,
                request_id=str(sent.id),
                correlation_id=correlation_id,
                timeout=timeout,
            )
        return reply

    def _note(self, store: Store, sent: Message, kind: str) -> None:
        """Note on the request's receipt that a reply is awaited, or came (what ``status``
        calls handled for a request, and its pushed receipt reports); a note that cannot be
        written is logged."""
        if sent.seq is None or sent.recipient is None:  # not stored (a duplicate's first)
            return
        at_ms = int(time() * 1000)
        try:
            if kind == "replied" and self._replied is not None:
                self._replied(store, sent, at_ms)
                return
            note = Note(kind, at_ms)
            store.receipts.note(Stream.of_inbox(sent.recipient).id, sent.seq, sent.recipient, note)
        except BusError as exc:
            logger.warning("could not note %s on request %s: %s", kind, sent.id, exc)

    def _wait(
        self, store: Store, correlation_id: str, recipient: str, sender: str, timeout: float
    ) -> Message | None:
        """The first reply in the box that is a genuine direct message from ``recipient`` to
        ``sender``; one a store writer put there instead is logged and skipped."""
        deadline = monotonic() + timeout
        while True:
            body = store.replies.wait_reply(correlation_id, max(0.0, deadline - monotonic()))
            if body is None:
                return None
            refusal = reply_refusal(self._publisher.settings, body, recipient, sender)
            if refusal is not None:  # the guards refused the reply: say so now, as they did
                raise type(refusal)(
                    f"{recipient}'s reply to request {correlation_id} was refused: "
                    f"{refusal.message}",
                    **refusal.context,
                    correlation_id=correlation_id,
                )
            reply = Message.from_json(body)
            try:
                self._guard.admit(reply, Stream.of_inbox(sender), agent=sender)
                if reply.sender != recipient:
                    raise AuthenticationFailed(
                        f"reply {reply.id} is from {reply.sender!r}, not {recipient!r}",
                        reason="wrong_sender",
                        sender=reply.sender,
                        agent=recipient,
                    )
            except AuthenticationFailed as exc:
                logger.warning("refused a reply to %s: %s", correlation_id, exc)
                continue
            return reply

"""Pushed receipts (issue 17): the receipt message to a sender, built by this process.

A receipt is a message to the sender of the message it is about, carrying the receipt's facts
as its ``receipt.json`` attachment. :class:`ReceiptMessages` builds it and the store draft that
carries its body: with auth off straight as JSON (nothing to sign), with auth on as a message
signed through the process's guard, like its dead letters. What a receipt says, and for which
senders one is built at all, is :class:`~bus.reading.receipt_drafts.ReceiptDrafts`'s to decide;
what it names of the message it is about comes from :mod:`bus.reading.receipt_about`.
"""

from __future__ import annotations

import json
import logging
from typing import Any, NamedTuple

from bus.access.guard import Guard
from bus.channels import Retention
from bus.errors import BusError
from bus.message import Message, build_message
from bus.reading.receipt_about import receipt_id
from bus.receipts import RECEIPT_MEDIA_TYPE, RECEIPT_TYPE
from bus.store import ReceiptDraft

logger = logging.getLogger("bus.delivery")

#: The sender of what the bus itself posts (dead letters; receipts with auth off).
BUS_SENDER = "bus"


class Outgoing(NamedTuple):
    """A draft for the store, and the receipt message it carries (if built and signed)."""

    draft: ReceiptDraft
    message: Message | None = None


class ReceiptMessages:
    """The receipt messages one process builds (see the module doc).

    Args:
        guard: Signs receipts (their sender is its identity; ``bus`` with auth off).
        retention: Of the senders' inboxes.
        coalesce: Whether deliveries are coalesced (``BUS_COALESCE_DELIVERIES``).
    """

    def __init__(self, guard: Guard, retention: Retention, coalesce: bool) -> None:
        self._guard = guard
        self._retention = retention
        self._coalesce = coalesce

    def build(
        self,
        sender: str,
        receipt: dict[str, Any],
        content: str,
        now_ms: int,
        of_seq: int = 0,
        of_stream: str = "",
    ) -> Outgoing | None:
        """The receipt message to ``sender`` carrying ``receipt``, signed with auth on;
        ``None`` if it cannot be signed (logged)."""
        guard, retention, coalesce = self._guard, self._retention, self._coalesce
        by = guard.identity or BUS_SENDER
        fields: dict[str, Any] = {
            "recipient": sender,
            "sender": by,
            "content": content,
            "type": RECEIPT_TYPE,
            "attachments": (
                {
                    "name": "receipt.json",
                    "media_type": RECEIPT_MEDIA_TYPE,
                    "content": json.dumps(receipt, separators=(",", ":")),
                },
            ),
        }
        if guard.identity is None:  # nothing to sign: the JSON straight, a tenth the cost
            message_id = receipt_id()
            body = json.dumps(
                {"id": message_id, **fields, "timestamp": receipt["at"]}, separators=(",", ":")
            )
            draft = ReceiptDraft(
                sender, by, message_id, body, now_ms, retention, coalesce, of_seq, of_stream
            )
            return Outgoing(draft)
        try:  # signed like any message, by this process's identity (as its dead letters are)
            built = guard.outgoing(build_message(**fields))
        except BusError as exc:  # the outcome is what counts: it is committed without one
            logger.warning("no receipt of %s for %s: %s", receipt["message_id"], sender, exc)
            return None
        body = built.model_dump_json(exclude={"seq"})
        draft = ReceiptDraft(
            sender, by, str(built.id), body, now_ms, retention, coalesce, of_seq, of_stream
        )
        return Outgoing(draft, built)

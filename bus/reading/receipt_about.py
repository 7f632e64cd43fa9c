"""What a receipt says of the message it is about (pushed receipts, issue 17): the message's id,
sender, type, channel and seq, read from the message or straight from its stored JSON, and
the receipt's own id and time as :mod:`bus.reading.receipt_drafts` writes them.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime
from typing import NamedTuple
from uuid import UUID

from bus.message import Message
from bus.store import Entry


class About(NamedTuple):
    """What a receipt names of the message it is about."""

    id: str
    sender: str
    type: str
    channel: str | None
    seq: int | None
    #: Whether it is a request (a direct message awaiting a reply: ``reply_to`` and a
    #: correlation id): handled means replied, so its hand-over pushes no ``handled`` receipt.
    request: bool = False


def about_message(message: Message, seq: int | None) -> About:
    """What a receipt names of ``message`` (at ``seq``)."""
    request = message.recipient is not None and None not in (
        message.reply_to,
        message.correlation_id,
    )
    return About(str(message.id), message.sender, message.type, message.channel, seq, request)


def stamp(now_ms: int) -> str:
    """``now_ms`` (epoch ms) as a receipt's ``at``: ISO 8601, UTC, ``Z``."""
    return datetime.fromtimestamp(now_ms / 1000, UTC).isoformat().replace("+00:00", "Z")


#: Draws the ids of unsigned receipts: seeded from the OS once (``random`` reseeds it in a
#: forked child). ``uuid4`` reads ``os.urandom`` each time, which releases the GIL: with a
#: worker's threads busy, taking it back cost a receipt more than building it (profiled on
#: memory://). The ids need to be unique, not secret: with auth off anyone may post anything.
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)


def receipt_id() -> str:
    """A random (version 4) UUID for a receipt message built without signing."""
    return str(UUID(int=_ids.getrandbits(128), version=4))


def about_entry(entry: Entry) -> About | None:
    """What a receipt names of ``entry``'s message, read from its JSON without building the
    message (for a guard that refuses nothing: auth off); ``None`` if it cannot be read so."""
    try:
        raw = json.loads(entry.body)
        message_id, sender, channel = str(UUID(raw["id"])), raw["sender"], raw.get("channel")
        kind = raw.get("type", "")
        request = bool(raw.get("reply_to")) and bool(raw.get("correlation_id"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # unreadable: read whole, the receive logs it
    if not isinstance(sender, str) or not isinstance(channel, str | None):
        return None
    return About(message_id, sender, kind, channel, entry.seq, request and channel is None)

"""What the store knows of one message, for ``status`` and ``trace``: where its id index
places it (:class:`Located`, :class:`Traced`), what each member of its audience has done with
it (:class:`MemberFacts`) and the exception notes kept for them (:class:`Note`)."""

from __future__ import annotations

import json
from typing import NamedTuple

from bus.store.results import Entry

#: The message-id index (the causation index of ``LogStore.find``) keeps a stream's ids for
#: ``INDEX_FACTOR * max_messages`` appends: those of retained messages, and of up to
#: ``(INDEX_FACTOR - 1) * max_messages`` trimmed ones, so a message retention trimmed is still
#: known to ``status`` (skipped, or handled before the trim) for a while, then forgotten.
INDEX_FACTOR = 2


class Located(NamedTuple):
    """Where the message-id index says a message is (see ``LogStore.append(message_id=)``);
    still known for a while after retention trimmed it (:data:`INDEX_FACTOR`)."""

    stream: str
    seq: int
    #: Its append time (epoch ms).
    stored_ms: int
    sender: str
    #: The id of the message that caused it ("": none), as the causation index keeps it.
    causation_id: str = ""


class Note(NamedTuple):
    """An exception record of one member for one message: kept only when something went
    otherwise than handled in order (a failure, a dead letter, a refusal, a skip)."""

    #: ``failed`` (the last failed attempt), ``dead_lettered``, ``refused``, ``skipped``; for
    #: a request, ``requested`` (a reply is awaited) then ``replied`` (the requester got it).
    kind: str
    #: When it was noted (epoch ms).
    at_ms: int
    attempts: int = 0
    error: str | None = None
    #: The dead letter's seq on the dead-letter channel.
    dead_letter_seq: int | None = None

    def encode(self) -> str:
        """The note as the store keeps it (JSON)."""
        return json.dumps(self._asdict(), separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> Note:
        """A note from :meth:`encode`'s JSON."""
        return cls(**json.loads(raw))


class MemberFacts(NamedTuple):
    """What the store keeps of one member's reading of a stream, read together."""

    #: Its position (the last seq handed over or handled); ``None``: it does not read the
    #: stream (any more).
    position: int | None
    #: The token holding its lease on the stream, if one is held.
    lease: str | None = None
    #: ``(seq, epoch ms)``: the message its run last started on, and when.
    started: tuple[int, int] | None = None
    #: ``(seq, attempts, not before ms)`` of its failed attempts at the stream's next message.
    failure: tuple[int, int, int] | None = None


class DeliveryFacts(NamedTuple):
    """Everything :meth:`~bus.store.contracts.receipts.ReceiptStore.facts` found of one
    message: where it is, who it was for, and each of them's facts and notes."""

    located: Located
    #: The stream's first retained seq (``head + 1`` when it keeps none) and its head.
    first: int
    head: int
    #: Who was a member of the stream when the message was stored, sorted.
    audience: tuple[str, ...]
    members: dict[str, MemberFacts]
    #: agent -> its note on this message (failed, dead_lettered, refused, skipped).
    notes: dict[str, Note]


class Traced(NamedTuple):
    """A retained message found by its id (see :meth:`~bus.store.contracts.log.LogStore.find`)."""

    #: Its stream, seq and JSON.
    entry: Entry
    #: The id of the message that caused it (``None``: no handler's message did).
    causation_id: str | None

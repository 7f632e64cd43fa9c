"""What a dead letter is about: the original message its record carries.

A dead letter (:mod:`bus.deadletters.records`) carries the whole message that could not be
handled, so the guard shows it only to those who may read that message (and operators). The
record's format is declared here, below the guard, so the guard can read it without knowing
the dead-letter layer.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from bus.message import Message

#: Media type of the attachment that carries a dead letter's record.
MEDIA_TYPE = "application/vnd.bus.dead-letter+json"


def original_of(message: Message) -> Message | None:
    """The message a dead letter is about, or ``None`` if ``message`` carries no record.

    A record that cannot be read counts as one about a message nobody may read: the caller
    treats ``message`` as carrying one (see :func:`carries_letter`)."""
    for attachment in message.attachments:
        if attachment.media_type == MEDIA_TYPE and attachment.content is not None:
            try:
                return Message.model_validate(json.loads(attachment.content)["message"])
            except (ValueError, KeyError, TypeError, ValidationError):
                return None
    return None


def carries_letter(message: Message) -> bool:
    """Whether ``message`` carries a dead-letter record (readable or not)."""
    return any(attachment.media_type == MEDIA_TYPE for attachment in message.attachments)

"""Pushed receipts: a :class:`Receipt` is one event of what became of a message for one member
(handled, dead-lettered, refused; skipped, for a run of messages), delivered to the message's
sender as a direct message of type :data:`RECEIPT_TYPE` carrying the event as its attachment.

A sender opts in (``register_agent(name, receipts=True)``, or a hosted agent declaring
``@agent.on_receipt``); the store appends the receipt message to its inbox in the same atomic
step that commits the member's position, so receipts arrive in the order the outcomes were
committed, once each. See ``docs/decisions/0004-pushed-receipts.md``.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from bus.message import Message
from bus.receipts.model import DeliveryState

#: The message type of receipt messages (a custom type: routed only to receipt handlers).
RECEIPT_TYPE = "receipt"
#: Media type of the attachment that carries the :class:`Receipt`.
RECEIPT_MEDIA_TYPE = "application/vnd.bus.receipt+json"


class Receipt(BaseModel):
    """What became of message ``message_id`` (``seq`` of its channel, or a direct message to
    ``member``) for ``member``, at ``at``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: UUID
    member: str
    state: DeliveryState
    channel: str | None
    seq: int
    at: AwareDatetime
    #: Attempts it took (1 for a first-time success; 0 for a refusal).
    attempts: int = 1
    #: Why it failed (dead-lettered) or was refused.
    error: str | None = None
    #: Its dead letter's seq on the dead-letter channel.
    dead_letter_seq: int | None = None
    #: A ``skipped`` receipt stands for each message of its sender that one skip trimmed
    #: before the member read it (those the message index still knew): ``messages`` of them,
    #: the first being ``message_id`` at ``seq``, the last at ``last_seq``.
    messages: int = 1
    last_seq: int | None = None

    def summary(self) -> str:
        """One line: who, what, which message."""
        where = f"{self.channel} #{self.seq}" if self.channel else f"direct #{self.seq}"
        return f"{self.member} {self.state.value.replace('_', '-')} {self.message_id} ({where})"


def receipt_of(message: Message) -> Receipt | None:
    """The receipt a receipt message carries, or ``None`` if ``message`` is not one."""
    if message.type != RECEIPT_TYPE:
        return None
    for attachment in message.attachments:
        if attachment.media_type == RECEIPT_MEDIA_TYPE and attachment.content is not None:
            return Receipt.model_validate_json(attachment.content)
    return None

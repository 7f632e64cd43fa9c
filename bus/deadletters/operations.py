"""Dead letters: messages whose handler kept failing (or that a guard refused), kept on the
dead-letter channel (see :mod:`bus.deadletters.records` for the record). Subscribe an agent to the
channel to be told; :func:`list_dead_letters` reads them; :func:`replay` hands one to its agent
again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bus.access.letters import MEDIA_TYPE
from bus.broker.wire import REPLAY_TASK, Delivery
from bus.channels import Stream
from bus.deadletters.records import (
    SENDER,
    DeadLetter,
    letter_of,
    post_dead_letter,
    post_refusal,
)
from bus.errors import AuthenticationFailed, InvalidArgument
from bus.kinds import MessageType
from bus.message import Attachment, Message, build_message

if TYPE_CHECKING:
    from bus.core import Bus

__all__ = [
    "MEDIA_TYPE",
    "SENDER",
    "DeadLetter",
    "dead_letter",
    "list_dead_letters",
    "refuse",
    "replay",
    "set_aside_unreadable",
]

logger = logging.getLogger(__name__)

#: How much of an unreadable log entry its dead letter carries.
UNREADABLE_KEEP = 16_384


def dead_letter(bus: Bus, letter: DeadLetter, *, caused: bool = True) -> Message:
    """Publish ``letter`` on the dead-letter channel, caused by its message (``caused`` false:
    a stand-in that was never stored)."""
    return post_dead_letter(
        bus.publisher,
        bus.settings,
        letter,
        sender=bus.guard.identity,
        store=lambda: bus.store,
        caused=caused,
    )


def refuse(
    bus: Bus, agent: str | None, message: Message, stream: Stream, error: AuthenticationFailed
) -> None:
    """Set aside a message a consumer's guard refused (see
    :func:`bus.deadletters.records.post_refusal`)."""
    post_refusal(
        bus.publisher,
        bus.settings,
        agent,
        message,
        stream,
        error,
        sender=bus.guard.identity,
        store=lambda: bus.store,
    )


def set_aside_unreadable(
    bus: Bus, agent: str, stream: Stream, seq: int, raw: str, error: Exception
) -> Message:
    """Set aside log entry ``seq`` of ``stream``, which is not a valid message (``raw``, its
    JSON): a dead letter for ``agent`` naming why, whose message is a stand-in from the bus
    carrying the entry as an attachment, so the agent's stream moves on past it."""
    logger.error("%s #%s cannot be read, set aside for %s: %s", stream.label, seq, agent, error)
    stand_in = build_message(
        channel=stream.channel,
        recipient=stream.owner,
        sender=SENDER,
        content=f"log entry #{seq} of {stream.label} is not a valid message",
        type=MessageType.ESCALATION,
        attachments=(
            Attachment(
                name="entry.json", media_type="application/json", content=raw[:UNREADABLE_KEEP]
            ),
        ),
    ).model_copy(update={"seq": seq})
    letter = DeadLetter(
        agent=agent,
        channel=stream.channel,
        seq=seq,
        message=stand_in,
        error=f"unreadable: {error}",
        attempts=0,
    )
    return dead_letter(bus, letter, caused=False)


def list_dead_letters(
    bus: Bus, *, limit: int | None = None, after: int | None = None
) -> list[DeadLetter]:
    """Dead letters still retained, oldest first (``limit`` newest, ``after`` a seq)."""
    history = bus.history(bus.settings.dead_letter_channel, limit=limit, after=after)
    return [letter for message in history if (letter := letter_of(message)) is not None]


def replay(bus: Bus, dead_letter_seq: int) -> DeadLetter:
    """Hand dead letter number ``dead_letter_seq`` to its agent again.

    A replay runs the agent's handlers once more for that message, outside the channel's
    order (the channel has moved on); if they fail again it becomes a new dead letter.

    Raises:
        InvalidArgument: no retained dead letter has that number.
    """
    found = bus.history(bus.settings.dead_letter_channel, after=dead_letter_seq - 1, limit=None)
    letter = next(
        (
            letter
            for message in found
            if message.seq == dead_letter_seq and (letter := letter_of(message)) is not None
        ),
        None,
    )
    if letter is None:
        raise InvalidArgument(
            f"no dead letter #{dead_letter_seq} on {bus.settings.dead_letter_channel}",
            seq=dead_letter_seq,
        )
    delivery = Delivery(
        letter.agent,
        letter.channel,
        letter.seq,
        str(letter.message.id),
        letter.message.model_dump(mode="json"),
        sender=letter.message.sender,
        type=str(letter.message.type),
    )
    bus.broker.publish([delivery], REPLAY_TASK, direct=True)
    return letter

"""Dead letters: messages whose handler kept failing, kept on the dead-letter channel.

Each dead letter is a message on ``BUS_DEAD_LETTER_CHANNEL`` (``#dead-letters``): a readable
summary as content, and the :class:`DeadLetter` record (agent, channel, seq, the original
message, the error, the attempts) as its JSON attachment. Subscribe an agent to the channel to
be told; :func:`list_dead_letters` reads them; :func:`replay` hands one to its agent again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bus.errors import AuthenticationFailed, InvalidArgument, PermissionDenied, RateLimited
from bus.message import Attachment, Message, MessageType, Priority, build_message
from bus.streams import Stream
from bus.wire import REPLAY_TASK, Delivery

if TYPE_CHECKING:
    from bus.core import Bus

logger = logging.getLogger(__name__)

#: Media type of the attachment that carries the :class:`DeadLetter` record.
MEDIA_TYPE = "application/vnd.bus.dead-letter+json"
#: Sender of dead letters.
SENDER = "bus"


class DeadLetter(BaseModel):
    """A message an agent's handlers failed on ``attempts`` times."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str
    channel: str | None
    seq: int
    message: Message
    error: str
    attempts: int
    task_id: str | None = None
    failed_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    #: Sequence number on the dead-letter channel (set when read back).
    dead_letter_seq: int | None = None


def dead_letter(bus: Bus, letter: DeadLetter) -> Message:
    """Publish ``letter`` on the dead-letter channel."""
    where = letter.channel or "direct messages"
    summary = (
        f"{letter.agent} gave up on {where} #{letter.seq} after {letter.attempts} attempts: "
        f"{letter.error}"
    )
    message = build_message(
        channel=bus.settings.dead_letter_channel,
        sender=bus.guard.identity or SENDER,  # signed by whoever moves it when auth is on
        content=summary[:2000],
        type=MessageType.ESCALATION,
        priority=Priority.HIGH,
        attachments=(
            Attachment(
                name="dead-letter.json", media_type=MEDIA_TYPE, content=letter.model_dump_json()
            ),
        ),
    )
    return bus.post(message, max_bytes=bus.settings.max_message_bytes * 2 + 65536)


def refuse(
    bus: Bus, agent: str | None, message: Message, stream: Stream, error: AuthenticationFailed
) -> None:
    """Set aside a message a consumer's guard refused: a dead letter naming why, for the agent
    that read it (its position has moved past it); a history reader's refusals are logged."""
    assert message.seq is not None  # read from a log: numbered
    logger.warning("refused %s #%s of %s: %s", message.id, message.seq, stream.id, error)
    if agent is None:
        return
    letter = DeadLetter(
        agent=agent,
        channel=stream.channel,
        seq=message.seq,
        message=message,
        error=f"refused ({error.context.get('reason', 'unknown')}): {error}",
        attempts=0,
    )
    try:
        dead_letter(bus, letter)
    except (PermissionDenied, RateLimited) as exc:  # a flood of forgeries must not stop the reader
        logger.error("could not dead-letter refused %s of %s: %s", message.id, stream.id, exc)


def _letter_of(message: Message) -> DeadLetter | None:
    for attachment in message.attachments:
        if attachment.media_type == MEDIA_TYPE and attachment.content is not None:
            letter = DeadLetter.model_validate_json(attachment.content)
            return letter.model_copy(update={"dead_letter_seq": message.seq})
    return None


def list_dead_letters(
    bus: Bus, *, limit: int | None = None, after: int | None = None
) -> list[DeadLetter]:
    """Dead letters still retained, oldest first (``limit`` newest, ``after`` a seq)."""
    history = bus.history(bus.settings.dead_letter_channel, limit=limit, after=after)
    return [letter for message in history if (letter := _letter_of(message)) is not None]


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
            if message.seq == dead_letter_seq and (letter := _letter_of(message)) is not None
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
    )
    bus.broker.publish([delivery], REPLAY_TASK, direct=True)
    return letter

"""Dead-letter records: what a message that could not be handled becomes, and how it is posted.

Each dead letter is a message on ``BUS_DEAD_LETTER_CHANNEL`` (``#dead-letters``): a readable
summary as content, and the :class:`DeadLetter` record (agent, channel, seq, the original
message, the error, the attempts) as its JSON attachment. :mod:`bus.deadletters.operations` is the
public side (listing and replaying them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bus.access.letters import MEDIA_TYPE
from bus.access.speaking import unspoken
from bus.channels import Stream
from bus.errors import AuthenticationFailed, BusError, PermissionDenied, RateLimited
from bus.kinds import MessageType, Priority
from bus.message import Attachment, Message, build_message
from bus.publishing.publisher import Publisher
from bus.settings import BusSettings
from bus.store import Note, Store

logger = logging.getLogger(__name__)

#: Sender of dead letters.
SENDER = "bus"


class DeadLetter(BaseModel):
    """A message an agent's handlers failed on ``attempts`` times (0: refused unhandled)."""

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


def post_dead_letter(
    publisher: Publisher,
    settings: BusSettings,
    letter: DeadLetter,
    *,
    sender: str | None = None,
    store: Callable[[], Store] | None = None,
    caused: bool = True,
    traced: bool = True,
) -> Message:
    """Publish ``letter`` on the dead-letter channel (it may be up to twice the message limit:
    it carries a whole message plus the error), as ``sender``: with auth on, the identity of the
    process that moves it, which signs it; else :data:`SENDER`. With ``store``, the message's
    receipt for the agent notes it (``dead_lettered``, or ``refused`` for ``attempts`` 0).

    The dead letter is caused by the message that failed: its ``causation_id`` is that message's
    id, one hop further, in its trace (its ``traceparent``), so ``bus trace`` shows the dead
    letter under the message and its ``publish`` span joins the message's trace. ``caused``
    false: the message is a stand-in that was never stored (no cause to name); ``traced``
    false: its trace context is not to be trusted (a refused message: causation only)."""
    where = letter.channel or "direct messages"
    summary = (
        f"{letter.agent} gave up on {where} #{letter.seq} after {letter.attempts} attempts: "
        f"{letter.error}"
    )
    message = build_message(
        channel=settings.dead_letter_channel,
        sender=sender or SENDER,
        content=summary[:2000],
        type=MessageType.ESCALATION,
        priority=Priority.HIGH,
        attachments=(
            Attachment(
                name="dead-letter.json", media_type=MEDIA_TYPE, content=letter.model_dump_json()
            ),
        ),
        **(_caused_by(letter.message, traced=traced) if caused else {}),
    )
    # The process's act, not the agent's, even when a handler's call (a receive through its
    # bound bus) came upon the message: posted speaking for nobody.
    limit = settings.max_message_bytes * 2 + 65536
    posted = unspoken().run(publisher.post, message, max_bytes=limit)
    if store is not None:
        _note(store, letter, posted.seq)
    return posted


def _caused_by(failed: Message, *, traced: bool) -> dict[str, Any]:
    """The causation of a dead letter of ``failed``: its id, its hops + 1 and (``traced``) its
    trace context."""
    fields: dict[str, Any] = {"causation_id": failed.id, "hops": failed.hops + 1}
    if traced and failed.traceparent is not None:
        fields["traceparent"] = failed.traceparent
        fields["tracestate"] = failed.tracestate
    return fields


def _note(store: Callable[[], Store], letter: DeadLetter, dead_letter_seq: int | None) -> None:
    """Note the dead letter in the receipts of its message (the dead letter is what counts:
    a note that cannot be written is logged)."""
    note = Note(
        "refused" if letter.attempts == 0 else "dead_lettered",
        int(letter.failed_at.timestamp() * 1000),
        letter.attempts,
        letter.error,
        dead_letter_seq,
    )
    stream = Stream.of(letter.agent, letter.channel).id
    try:
        store().receipts.note(stream, letter.seq, letter.agent, note)
    except BusError as exc:
        logger.warning("could not note dead letter %s in its receipt: %s", dead_letter_seq, exc)


def post_refusal(
    publisher: Publisher,
    settings: BusSettings,
    agent: str | None,
    message: Message,
    stream: Stream,
    error: AuthenticationFailed,
    *,
    sender: str | None = None,
    store: Callable[[], Store] | None = None,
) -> None:
    """Set aside a message a consumer's guard refused: a dead letter naming why, for the agent
    that read it (its position has moved past it); a history reader's refusals are logged. A
    flood of forgeries must not stop the reader: a dead letter that cannot be sent (permission,
    quota) is logged instead. The dead letter names the refused message as its cause, but does
    not join its trace: a refused message's ``traceparent`` may be the forgery."""
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
        post_dead_letter(publisher, settings, letter, sender=sender, store=store, traced=False)
    except (PermissionDenied, RateLimited) as exc:
        logger.error("could not dead-letter refused %s of %s: %s", message.id, stream.id, exc)


def letter_of(message: Message) -> DeadLetter | None:
    """The record a dead-letter message carries, or ``None`` if it carries none."""
    for attachment in message.attachments:
        if attachment.media_type == MEDIA_TYPE and attachment.content is not None:
            letter = DeadLetter.model_validate_json(attachment.content)
            return letter.model_copy(update={"dead_letter_seq": message.seq})
    return None

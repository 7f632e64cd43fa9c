"""The receipt models: a message's :class:`DeliveryStatus`, each member's :class:`MemberStatus`."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict


class DeliveryState(StrEnum):
    """Where a message is for one member."""

    #: Stored, not handed over yet (the member's position is before it).
    QUEUED = "queued"
    #: A worker's run holds the member's lease and is handling it now.
    IN_PROGRESS = "in_progress"
    #: An attempt failed; it is tried again after ``next_attempt_at``.
    RETRYING = "retrying"
    #: Handled by the member's handlers, or handed over by its ``receive`` (pull).
    HANDLED = "handled"
    #: Its handlers kept failing: it is dead letter ``dead_letter_seq``.
    DEAD_LETTERED = "dead_lettered"
    #: Retention trimmed it before the member read it (``overflow=drop-oldest``).
    SKIPPED = "skipped"
    #: The member's guard refused it (a forged sender, a bad signature): ``error`` says why.
    REFUSED = "refused"
    #: The member no longer reads the stream (it left the channel or was unregistered).
    LEFT = "left"


#: The states a member never leaves (a replayed dead letter stays ``dead_lettered``).
FINAL_STATES = frozenset(
    {
        DeliveryState.HANDLED,
        DeliveryState.DEAD_LETTERED,
        DeliveryState.SKIPPED,
        DeliveryState.REFUSED,
        DeliveryState.LEFT,
    }
)


class MemberStatus(BaseModel):
    """One member's state for a message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: DeliveryState
    #: Since when it is in that state, where the store knows: stored (queued), started
    #: (in progress), failed (retrying), noted (dead-lettered, refused, skipped); ``None`` for
    #: handled (the store keeps positions, not times) and left.
    since: AwareDatetime | None = None
    #: Attempts so far: the one in progress, the failed ones, or those it took to handle it.
    attempts: int = 0
    #: The lease token of the run handling it (``host/pid/task/run``), in progress only.
    worker: str | None = None
    #: The last failure's error, a dead letter's or a refusal's reason.
    error: str | None = None
    #: Its seq on the dead-letter channel, when dead-lettered or refused.
    dead_letter_seq: int | None = None
    #: When a retrying message is tried again.
    next_attempt_at: AwareDatetime | None = None


class DeliveryStatus(BaseModel):
    """What became of one message, for each member of its audience (who was a member of the
    channel when it was stored, or a direct message's recipient)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: UUID
    channel: str | None
    recipient: str | None
    seq: int
    sender: str
    stored_at: AwareDatetime
    #: Whether the stream's log still keeps the message (``False``: retention trimmed it; the
    #: receipt is kept for as long again, then the id is unknown).
    retained: bool
    #: Agent -> its state, sorted by name.
    members: dict[str, MemberStatus]

    def in_state(self, state: DeliveryState | str) -> list[str]:
        """The members in ``state``."""
        return [name for name, member in self.members.items() if member.state == state]

    def reached(self, state: DeliveryState | str, members: Iterable[str] | None = None) -> bool:
        """Whether every one of ``members`` (default: all) is in ``state``."""
        names = self.members if members is None else members
        return all(self.members[name].state == state for name in names)

    @property
    def failed(self) -> list[str]:
        """The members for which it was dead-lettered or refused."""
        return [
            name
            for name, member in self.members.items()
            if member.state in (DeliveryState.DEAD_LETTERED, DeliveryState.REFUSED)
        ]

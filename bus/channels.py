"""Channels: their kind, retention, and what the bus reports about them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveInt

from bus.names import check_channel_name


class ChannelKind(StrEnum):
    """Who receives a channel's messages."""

    #: Agents subscribed to the channel.
    TOPIC = "topic"
    #: Every agent registered with the bus, subscribed or not.
    BROADCAST = "broadcast"


class Overflow(StrEnum):
    """What a channel does when a member falls further behind than its retention keeps."""

    #: Trim the oldest anyway: the member skips them, and is told how many (``skipped``).
    DROP_OLDEST = "drop-oldest"
    #: Refuse the publish (``PublishRejected`` naming the lagging members) rather than trim
    #: a message a member has not read; as RabbitMQ's ``overflow=reject-publish`` and
    #: JetStream's ``discard=new``. It bounds the count only: age still expires messages.
    REJECT_PUBLISH = "reject-publish"


class Retention(BaseModel):
    """How much history a channel keeps: the newest ``max_messages``, none older than
    ``max_age_seconds`` (when set). Count is always bounded, so memory is too."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_messages: PositiveInt = 1000
    max_age_seconds: float | None = Field(default=None, gt=0)


class ChannelSpec(BaseModel):
    """A channel's name, kind and retention, and the version of that spec: each change
    (:meth:`bus.Bus.update_channel`) makes a new version, and the store appends only for a
    publisher holding the current one (an out-of-date one re-reads it and retries)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, AfterValidator(check_channel_name)]
    kind: ChannelKind = ChannelKind.TOPIC
    retention: Retention = Retention()
    overflow: Overflow = Overflow.DROP_OLDEST
    #: Whether the retention was set for this channel (at creation or by a change) rather
    #: than taken from the settings' defaults: a start reconciles only the latter.
    pinned: bool = False
    version: PositiveInt = 1

    def same_as(self, other: ChannelSpec) -> bool:
        """Whether both say the same of the channel (its version and origin aside)."""
        return (self.kind, self.retention, self.overflow) == (
            other.kind,
            other.retention,
            other.overflow,
        )


class ChannelInfo(BaseModel):
    """A channel as it is now: its spec, members and last sequence number."""

    model_config = ConfigDict(frozen=True)

    spec: ChannelSpec
    members: frozenset[str]
    last_seq: int
    retained: int

    @property
    def name(self) -> str:
        """The channel's name."""
        return self.spec.name

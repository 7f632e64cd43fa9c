"""Channels: their kind, retention, and what the bus reports about them; and streams.

Streams: what has one order.

A *stream* is a channel (id ``c:<channel>``) or an agent's direct-message inbox (id
``d:<agent>``). Every append to a stream gets its next sequence number, and every reader of it
sees it in that order. This module is the only place that knows the id format: everything else
builds ids with :meth:`Stream.of_channel` / :meth:`Stream.of_inbox` (or the two functions below)
and reads them back with :meth:`Stream.parse`.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    #: The channel's own hop limit (see ``BusSettings.max_hops``); ``None``: the setting's.
    max_hops: PositiveInt | None = None
    #: Whether the retention was set for this channel (at creation or by a change) rather
    #: than taken from the settings' defaults: a start reconciles only the latter.
    pinned: bool = False
    version: PositiveInt = 1

    def same_as(self, other: ChannelSpec) -> bool:
        """Whether both say the same of the channel (its version, origin and hop limit aside:
        a start creating it again keeps them)."""
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


# -- streams: what has one order ------------------------------------------------------------
#: Prefix of a channel's stream id.
CHANNEL_PREFIX = "c:"
#: Prefix of an agent's direct-message stream id.
DIRECT_PREFIX = "d:"


@dataclass(frozen=True, slots=True)
class Stream:
    """One ordered stream: a channel's, or the direct messages of one agent."""

    #: ``c:<channel>`` or ``d:<agent>``.
    id: str

    @classmethod
    def of_channel(cls, channel: str) -> Stream:
        """The stream of ``channel``."""
        return cls(CHANNEL_PREFIX + channel)

    @classmethod
    def of_inbox(cls, agent: str) -> Stream:
        """The stream of the direct messages sent to ``agent``."""
        return cls(DIRECT_PREFIX + agent)

    @classmethod
    def of(cls, agent: str, channel: str | None) -> Stream:
        """The stream a delivery to ``agent`` belongs to: ``channel``'s, or (``None``) the
        agent's inbox."""
        return cls.of_inbox(agent) if channel is None else cls.of_channel(channel)

    @classmethod
    def parse(cls, stream_id: str) -> Stream:
        """Read a stream id back.

        Raises:
            ValueError: the id is neither ``c:<channel>`` nor ``d:<agent>``.
        """
        if not isinstance(stream_id, str) or not stream_id.startswith(
            (CHANNEL_PREFIX, DIRECT_PREFIX)
        ):
            raise ValueError(f"not a stream id: {stream_id!r}")
        return cls(stream_id)

    @property
    def is_direct(self) -> bool:
        """Whether this is an agent's direct-message inbox."""
        return self.id.startswith(DIRECT_PREFIX)

    @property
    def channel(self) -> str | None:
        """The channel's name, or ``None`` for an inbox."""
        return None if self.is_direct else self.id[len(CHANNEL_PREFIX) :]

    @property
    def owner(self) -> str | None:
        """The agent whose inbox this is, or ``None`` for a channel."""
        return self.id[len(DIRECT_PREFIX) :] if self.is_direct else None

    @property
    def label(self) -> str:
        """How logs name the stream: its channel (``#engineering``) or ``DMs to <agent>``."""
        channel = self.channel
        return channel if channel is not None else f"DMs to {self.owner}"

    def __str__(self) -> str:
        return self.id


def channel_stream(channel: str) -> str:
    """The stream id of a channel."""
    return CHANNEL_PREFIX + channel


def direct_stream(agent: str) -> str:
    """The stream id of an agent's direct-message inbox."""
    return DIRECT_PREFIX + agent

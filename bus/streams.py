"""Streams: what has one order.

A *stream* is a channel (id ``c:<channel>``) or an agent's direct-message inbox (id
``d:<agent>``). Every append to a stream gets its next sequence number, and every reader of it
sees it in that order. This module is the only place that knows the id format: everything else
builds ids with :meth:`Stream.of_channel` / :meth:`Stream.of_inbox` (or the two functions below)
and reads them back with :meth:`Stream.parse`.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def __str__(self) -> str:
        return self.id


def channel_stream(channel: str) -> str:
    """The stream id of a channel."""
    return CHANNEL_PREFIX + channel


def direct_stream(agent: str) -> str:
    """The stream id of an agent's direct-message inbox."""
    return DIRECT_PREFIX + agent

"""The store: channel registry, memberships, per-stream logs and consumer positions.

A *stream* is what has one order: a channel (``c:<name>``) or an agent's direct-message inbox
(``d:<agent>``). Each append gets the stream's next sequence number; each agent keeps a position
per stream it reads, and :meth:`Store.claim` hands out the next message after it exactly once.
Implementations: :class:`~bus.store.memory.MemoryStore` (one process) and
:class:`~bus.store.redis.RedisStore` (shared by every process); the contract suite in
``tests/store`` holds both to the same behaviour.
"""

from __future__ import annotations

from typing import Protocol

from bus.channels import ChannelSpec, Retention

#: Prefix of a channel's stream id.
CHANNEL_STREAM = "c:"
#: Prefix of an agent's direct-message stream id.
DIRECT_STREAM = "d:"


def channel_stream(channel: str) -> str:
    """The stream id of a channel."""
    return CHANNEL_STREAM + channel


def direct_stream(agent: str) -> str:
    """The stream id of an agent's direct-message inbox."""
    return DIRECT_STREAM + agent


def splice_seq(body: str, seq: int) -> str:
    """Put ``seq`` into a message's JSON, which was encoded without it (``{"id": ...}``)."""
    return f'{{"seq":{seq},{body[1:]}'


class Store(Protocol):
    """What the bus needs from the place its state lives."""

    def ping(self) -> None:
        """Raise if the store cannot be reached."""

    def close(self) -> None:
        """Release connections."""

    def destroy(self) -> None:
        """Delete everything this store holds for its namespace."""

    def create_channel(self, spec: ChannelSpec) -> bool:
        """Record a channel; ``False`` if one with the same spec exists.

        A broadcast channel makes every registered agent a member, from its current head.

        Raises:
            ChannelExists: a channel of that name exists with a different spec.
        """

    def get_channel(self, name: str) -> ChannelSpec | None:
        """The channel's spec, or ``None``."""

    def list_channels(self) -> list[ChannelSpec]:
        """Every channel, sorted by name."""

    def register_agent(self, agent: str) -> bool:
        """Record an agent, its inbox position and its membership of every broadcast channel;
        ``False`` if it was registered already."""

    def is_agent(self, agent: str) -> bool:
        """Whether the agent is registered."""

    def agents(self) -> list[str]:
        """Every registered agent, sorted."""

    def subscribe(self, agent: str, channel: str) -> bool:
        """Make ``agent`` a member of ``channel`` from its current head; ``False`` if it was."""

    def unsubscribe(self, agent: str, channel: str) -> bool:
        """End the membership and forget the position; ``False`` if there was none."""

    def members(self, channel: str) -> list[str]:
        """The channel's members, sorted."""

    def subscriptions(self, agent: str) -> list[str]:
        """The channels ``agent`` is a member of, sorted."""

    def append(
        self, stream: str, body: str, now_ms: int, retention: Retention
    ) -> tuple[int, list[str]]:
        """Append a message (JSON encoded without ``seq``) and trim to ``retention``.

        The stored JSON is ``body`` with ``"seq"`` spliced in (:func:`splice_seq`).

        Returns:
            The message's seq, and the agents it goes to: the channel's members at that instant
            (unsorted), or the inbox's owner if registered.
        """

    def history(
        self,
        stream: str,
        *,
        newest: int | None = None,
        after: int | None = None,
        since_ms: int | None = None,
    ) -> list[str]:
        """Retained messages oldest first: those after seq ``after``, at or after time
        ``since_ms``, and of those the ``newest`` last ones (each filter optional)."""

    def head(self, stream: str) -> int:
        """The stream's last sequence number (0 when nothing was ever appended)."""

    def retained(self, stream: str) -> int:
        """How many messages the stream keeps now."""

    def position(self, agent: str, stream: str) -> int | None:
        """The last seq handed to ``agent`` on ``stream``; ``None`` if it does not read it."""

    def claim(self, agent: str, stream: str) -> str | None:
        """Hand the next retained message after the agent's position to it, exactly once.

        Atomically advances the position past it (skipping what retention trimmed) and returns
        its JSON; ``None`` if nothing is pending or the agent does not read the stream.
        """

    def claim_any(self, agent: str) -> str | None:
        """Like :meth:`claim`, over every stream the agent reads: the oldest pending message."""

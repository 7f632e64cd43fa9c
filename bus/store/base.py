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
from bus.streams import CHANNEL_PREFIX as CHANNEL_STREAM
from bus.streams import DIRECT_PREFIX as DIRECT_STREAM
from bus.streams import channel_stream, direct_stream

__all__ = ["CHANNEL_STREAM", "DIRECT_STREAM", "Store", "channel_stream", "direct_stream"]


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

    def claim_any(self, agent: str) -> tuple[str, str] | None:
        """Like :meth:`claim`, over every stream the agent reads: the oldest pending message,
        as ``(stream, json)``."""

    # -- hosted agents: what a worker needs to run handlers in order, at least once ---------------

    def begin(
        self, agent: str, stream: str, token: str, ttl_ms: int, upto: int
    ) -> tuple[bool, str | None, tuple[int, int] | None]:
        """Take the lease that lets one worker at a time run the agent's handlers for
        ``stream`` (or extend it, if ``token`` holds it), and read what comes next.

        Returns:
            ``(False, None, None)`` if another token holds the lease. Otherwise ``True``, the
            next message after the agent's position if its seq is at most ``upto`` (else
            ``None``, and the lease is given up), and ``(attempts, not_before_ms)`` if that
            message failed before.
        """

    def advance(
        self, agent: str, stream: str, token: str, ttl_ms: int, seq: int, upto: int
    ) -> tuple[bool, str | None, tuple[int, int] | None]:
        """Move the agent's position on ``stream`` to ``seq`` (handled, or given up on), forget
        its failures, then read on like :meth:`begin`."""

    def release_lease(self, agent: str, stream: str, token: str) -> None:
        """Give the lease up, if ``token`` holds it."""

    def renew_lease(self, agent: str, stream: str, token: str, ttl_ms: int) -> bool:
        """Extend the lease by ``ttl_ms`` if ``token`` still holds it (never take a free one);
        ``False`` if it does not."""

    def record_failure(self, agent: str, stream: str, seq: int, not_before_ms: int) -> int:
        """Count a failed attempt at ``seq`` (the stream's next message) and when it may be
        tried again; returns the number of attempts at ``seq`` so far."""

    def backlog(self, agent: str) -> list[tuple[str, int, int]]:
        """``(stream, position, head)`` of every stream where the agent is behind."""

    # -- request/reply ----------------------------------------------------------------------------

    def open_reply(self, correlation_id: str, responder: str, ttl_ms: int) -> None:
        """Expect, for ``ttl_ms``, a reply to ``correlation_id`` sent by ``responder``."""

    def put_reply(self, correlation_id: str, sender: str, body: str) -> bool:
        """Hand a reply from ``sender`` to its waiter; ``False`` if nobody waits for a reply to
        ``correlation_id`` from ``sender`` (any more)."""

    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        """Wait up to ``timeout`` seconds for the reply; ``None`` if it did not come."""

    def close_reply(self, correlation_id: str) -> None:
        """Stop expecting the reply."""

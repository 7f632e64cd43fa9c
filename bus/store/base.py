"""The store contract: channel registry, memberships, per-stream logs, leases and reply boxes.

A *stream* is what has one order: a channel (``c:<name>``) or an agent's direct-message inbox
(``d:<agent>``; :mod:`bus.channels` owns the format). Each append gets the stream's next
sequence number; each agent keeps a position per stream it reads, and :meth:`Log.claim` hands
out the next message after it exactly once.

The contract is split by concern, one abstract class each: :class:`Registry` (channels, agents,
memberships), :class:`Log` (appends, history, positions, claims), :class:`Leases` (what a worker
needs to run an agent's handlers in order, at least once) and :class:`Replies` (request/reply
boxes). :class:`Store` is all four. Implementations, :class:`~bus.store.memory.MemoryStore`
(one process) and :class:`~bus.store.redis.RedisStore` (shared by every process), inherit the
docstrings here; the contract suite in ``tests/store`` holds both to the same behaviour.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from bus.channels import CHANNEL_PREFIX as CHANNEL_STREAM
from bus.channels import DIRECT_PREFIX as DIRECT_STREAM
from bus.channels import ChannelSpec, Retention, channel_stream, direct_stream
from bus.errors import StoreReset
from bus.store.leases import Leases
from bus.store.results import Appended, Dedupe, Entry

__all__ = [
    "CHANNEL_STREAM",
    "DIRECT_STREAM",
    "Identity",
    "Leases",
    "Log",
    "Registry",
    "Replies",
    "Store",
    "channel_stream",
    "direct_stream",
]


class Registry(ABC):
    """Channels, agents and who is a member of what."""

    @abstractmethod
    def create_channel(self, spec: ChannelSpec) -> bool:
        """Record a channel; ``False`` if one with the same kind and retention exists.

        A broadcast channel makes every registered agent a member, from its current head.

        Raises:
            ChannelExists: a channel of that name exists with a different spec.
        """

    @abstractmethod
    def update_channel(self, spec: ChannelSpec, replaces: int) -> bool:
        """Store ``spec`` (whose ``version`` is newer) in place of version ``replaces``; a
        channel becoming broadcast makes every registered agent a member, from its head.

        Returns:
            ``False`` (nothing done) if the stored version is not ``replaces`` any more.

        Raises:
            UnknownChannel: there is no such channel.
        """

    @abstractmethod
    def get_channel(self, name: str) -> ChannelSpec | None:
        """The channel's spec, or ``None``."""

    @abstractmethod
    def list_channels(self) -> list[ChannelSpec]:
        """Every channel, sorted by name."""

    @abstractmethod
    def register_agent(self, agent: str) -> bool:
        """Record an agent, its inbox position (the inbox's head) and its membership of every
        broadcast channel; ``False`` if it was registered already."""

    @abstractmethod
    def is_agent(self, agent: str) -> bool:
        """Whether the agent is registered."""

    @abstractmethod
    def agents(self) -> list[str]:
        """Every registered agent, sorted."""

    @abstractmethod
    def subscribe(self, agent: str, channel: str) -> bool:
        """Make ``agent`` a member of ``channel`` from its current head; ``False`` if it was."""

    @abstractmethod
    def unsubscribe(self, agent: str, channel: str) -> bool:
        """End the membership and forget the position; ``False`` if there was none."""

    @abstractmethod
    def members(self, channel: str) -> list[str]:
        """The channel's members, sorted."""

    @abstractmethod
    def subscriptions(self, agent: str) -> list[str]:
        """The channels ``agent`` is a member of, sorted."""

    # Bulk forms: what a worker or an operator registering hundreds of agents needs, in one
    # step (one round trip on Redis) per batch rather than one per agent or subscription.

    @abstractmethod
    def register_agents(self, agents: Sequence[str]) -> list[bool]:
        """:meth:`register_agent` for each of ``agents``; one ``bool`` per agent, in order
        (an agent named twice is ``False`` the second time)."""

    @abstractmethod
    def registered(self, agents: Sequence[str]) -> list[bool]:
        """Whether each of ``agents`` is registered, in order (one read)."""

    @abstractmethod
    def subscribe_many(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """:meth:`subscribe` for each ``(agent, channel)`` pair; one ``bool`` per pair, in
        order."""

    @abstractmethod
    def subscriptions_of(self, agents: Sequence[str]) -> dict[str, set[str]]:
        """The channels each of ``agents`` is a member of (one read; an unknown agent has
        none)."""


class Log(ABC):
    """Per-stream logs: numbered appends, retention, history, and each reader's position."""

    @abstractmethod
    def append(
        self,
        stream: str,
        body: str,
        now_ms: int,
        retention: Retention,
        *,
        channel: ChannelSpec | None = None,
        dedupe: Dedupe | None = None,
        coalesce: bool = False,
    ) -> Appended:
        """Append a message and trim the stream to ``retention``.

        Args:
            stream: The stream id.
            body: The message's JSON, an object encoded without ``seq``; kept as given.
            now_ms: The append time (epoch ms): what age retention and ``since_ms`` read. A
                stream's append times are expected not to go back (a binary search finds
                ``since_ms``).
            retention: How many messages, and for how long, the stream keeps: count first,
                then age (a message exactly ``max_age_seconds`` old stays).
            channel: The spec the caller holds of the stream's channel: the append happens only
                if the channel exists with that spec's ``version``.
            dedupe: An idempotency key: see :class:`~bus.store.results.Dedupe`.
            coalesce: Wake only recipients with no delivery outstanding on the stream
                (``Appended.woken``); a recipient's signal is cleared when a claim, take or
                step of it finds the stream drained, or it leaves the channel.

        Returns:
            The message's seq and its recipients (or, for a duplicate, the first one's seq).

        Raises:
            UnknownChannel: ``channel`` is given and does not exist (any more).
            ChannelChanged: ``channel`` is given and its stored version differs.
            StoreReset: the store lost the state this process knew (see :class:`Identity`).
        """

    @abstractmethod
    def unsignal(self, stream: str, agents: Sequence[str]) -> None:
        """Clear the agents' signals on ``stream`` (see ``append(coalesce=True)``): their
        deliveries could not be published, so the next append must wake them again."""

    @abstractmethod
    def history(
        self,
        stream: str,
        *,
        newest: int | None = None,
        after: int | None = None,
        since_ms: int | None = None,
    ) -> list[Entry]:
        """Retained messages oldest first: those after seq ``after``, appended at or after
        ``since_ms``, and of those the ``newest`` last ones (each filter optional)."""

    @abstractmethod
    def head(self, stream: str) -> int:
        """The stream's last sequence number (0 when nothing was ever appended)."""

    @abstractmethod
    def retained(self, stream: str) -> int:
        """How many messages the stream keeps now."""

    @abstractmethod
    def position(self, agent: str, stream: str) -> int | None:
        """The last seq handed to ``agent`` on ``stream``; ``None`` if it does not read it."""

    @abstractmethod
    def claim(self, agent: str, stream: str) -> Entry | None:
        """Hand the next retained message after the agent's position to it, exactly once.

        Atomically advances the position past it (skipping what retention trimmed); ``None``
        if nothing is pending or the agent does not read the stream.
        """

    @abstractmethod
    def claim_any(self, agent: str) -> Entry | None:
        """Like :meth:`claim`, over every stream the agent reads: the pending message appended
        first (ties go to the smaller stream id)."""


class Replies(ABC):
    """Request/reply boxes: a caller waits for one agent's reply to one request."""

    @abstractmethod
    def open_reply(self, correlation_id: str, responder: str, ttl_ms: int) -> None:
        """Expect, for ``ttl_ms``, a reply to ``correlation_id`` sent by ``responder``."""

    @abstractmethod
    def put_reply(self, correlation_id: str, sender: str, body: str) -> bool:
        """Put a reply from ``sender`` in the box, where it stays for
        :data:`~bus.store.results.REPLY_KEEP_MS`; ``False`` if no box is open (any more) for a
        reply to ``correlation_id`` from ``sender``."""

    @abstractmethod
    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        """Take the first reply in the box, waiting up to ``timeout`` seconds (``0``: do not
        wait) for one; ``None`` if none came."""

    @abstractmethod
    def close_reply(self, correlation_id: str) -> None:
        """Stop expecting the reply and drop what the box holds."""


#: Called with the error when a store notices it lost its state.
ResetWatcher = Callable[[StoreReset], None]


class Identity(ABC):
    """Which state a store holds: an *epoch*, a random id written when a bus first uses it.

    A process adopts the epoch when it starts (:meth:`establish`); the steps that append and
    hand messages over (:meth:`Log.append`, :meth:`Log.claim`, :meth:`Log.claim_any`,
    :meth:`Leases.begin`, :meth:`Leases.advance`) check it atomically and raise
    :class:`~bus.errors.StoreReset` instead of acting on a store that lost its state. On a reset
    the store adopts the epoch it now holds (if one was established again) and tells each
    watcher once per change. A store no process established checks nothing.
    """

    @abstractmethod
    def establish(self) -> str:
        """Write a new epoch unless the store holds one, adopt the one it holds, return it."""

    @abstractmethod
    def epoch(self) -> str | None:
        """The epoch the store holds now (``None``: none; it lost its state, or is new)."""

    @property
    @abstractmethod
    def expected(self) -> str | None:
        """The epoch this process adopted (``None``: it established none)."""

    @abstractmethod
    def verify(self) -> None:
        """Raise :class:`~bus.errors.StoreReset` if the store holds another epoch than the
        adopted one (for a caller that found something missing and must tell why)."""

    @abstractmethod
    def watch(self, watcher: ResetWatcher) -> None:
        """Call ``watcher`` when a reset is noticed (once per epoch change)."""


class Store(Registry, Log, Leases, Replies, Identity):
    """What the bus needs from the place its state lives."""

    @abstractmethod
    def ping(self) -> None:
        """Raise if the store cannot be reached."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @abstractmethod
    def destroy(self) -> None:
        """Delete everything this store holds for its namespace."""

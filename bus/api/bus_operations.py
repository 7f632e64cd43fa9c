"""The bus's operations, declared once: :class:`BusMessaging` (what an agent does through the
bus, all an agent client needs) and :class:`BusOperations` (all of :class:`bus.Bus`). See
:mod:`bus.api` for what is built from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, Self, Unpack
from uuid import UUID

from bus.api.agent_operations import AgentOperations
from bus.channels import ChannelInfo, ChannelKind, Overflow, Retention
from bus.message import HistoryFilters, Message, MessageFields
from bus.receipts import DeliveryState, DeliveryStatus
from bus.tracing.tree import Trace

__all__ = ["BusMessaging", "BusOperations"]


class BusMessaging(Protocol):
    """What an agent does through the bus: messages, reading, its subscriptions."""

    def publish(
        self, channel: str, content: str, *, sender: str, **fields: Unpack[MessageFields]
    ) -> Message:
        """Publish to a channel; returns the message with its sequence number.

        Once it returns, the message is stored (its deliveries are repaired by catch-up if the
        broker failed). With ``idempotency_key``, a retry with the same key within
        ``BUS_DEDUPE_WINDOW_SECONDS`` stores nothing and returns the first publish's seq.

        Raises:
            UnknownChannel. InvalidMessage: a field is invalid (each is named in
            ``context['errors']``). MessageTooLarge. StoreReset, StoreUnavailable. Nothing is
            stored or sent then.
        """
        ...

    def send(
        self, recipient: str, content: str, *, sender: str, **fields: Unpack[MessageFields]
    ) -> Message:
        """Send a direct message to a registered agent; returns it with its inbox seq.
        ``idempotency_key`` as for :meth:`publish`.

        Raises:
            UnknownAgent (unless it answers a pending request), InvalidMessage, MessageTooLarge.
        """
        ...

    def request(
        self,
        recipient: str,
        content: str,
        *,
        sender: str,
        timeout: float = 30.0,
        **fields: Unpack[MessageFields],
    ) -> Message:
        """Send a direct message and wait for the recipient's reply: a direct message from it
        with the request's correlation id. Works from inside a worker's handler too.

        Raises:
            BusTimeout: no reply within ``timeout`` seconds. UnknownAgent, InvalidMessage.
            HopLimitExceeded, CircuitOpen, BudgetExceeded: the guards refused the request,
            or the reply (at once, with ``correlation_id`` in the context; the responder's
            send raises it too). AgentOverloaded: the recipient has too much unread.
        """
        ...

    def receive(
        self, agent: str, *, channel: str | None = None, timeout: float | None = None
    ) -> Message | None:
        """The agent's next message, from any of its streams or from ``channel`` only; each
        stream's messages come in sequence order, each once. ``timeout``: seconds to wait
        (``None`` forever, ``0`` not at all); ``None`` is returned when it passed.

        Raises:
            UnknownAgent; NotSubscribed: ``channel`` is given and the agent is not a member.
        """
        ...

    def history(self, channel: str, **filters: Unpack[HistoryFilters]) -> list[Message]:
        """A channel's retained messages, oldest first: the newest ``limit``, those ``after`` a
        seq, those ``since`` a (timezone-aware) time.

        Raises:
            UnknownChannel; InvalidArgument for a negative number or a naive datetime.
        """
        ...

    def direct_history(self, agent: str, **filters: Unpack[HistoryFilters]) -> list[Message]:
        """The direct messages ``agent`` was sent that are retained, oldest first; filters as
        :meth:`history` (sequence numbers are the inbox's).

        Raises:
            UnknownAgent; InvalidArgument.
        """
        ...

    def subscribe(self, agent: str, channel: str) -> bool:
        """Make ``agent`` a member of ``channel`` from now on; ``False`` if it was one.

        Raises:
            UnknownAgent, UnknownChannel, InvalidName.
        """
        ...

    def unsubscribe(self, agent: str, channel: str) -> bool:
        """Stop delivering ``channel`` to ``agent`` (what is queued is dropped); ``False`` if it
        was not a member.

        Raises:
            UnknownAgent, UnknownChannel, InvalidName; InvalidArgument for a broadcast channel.
        """
        ...

    def subscriptions(self, agent: str) -> list[str]:
        """The channels ``agent`` receives, sorted (broadcast channels included)."""
        ...

    def status(self, message_id: str | UUID) -> DeliveryStatus:
        """What became of a message, for each member of its audience (who was a member of
        the channel when it was stored, or a direct message's recipient): ``queued``,
        ``in_progress`` (by which worker, attempt n), ``retrying`` (last error, next attempt),
        ``handled``, ``dead_lettered`` (its dead-letter seq), ``skipped`` (retention trimmed it
        first), ``refused`` (by a guard, why) or ``left`` (no longer a member). A message
        retention trimmed is still known (``retained`` is ``False``) for as long again.

        Raises:
            UnknownMessage: no message with that id is known on this bus (never published
            here, or older than twice its stream's retention). InvalidArgument: not a UUID.
            PermissionDenied: with auth on, neither its sender nor allowed to read its
            stream.
        """
        ...

    def wait_for(
        self,
        message_id: str | UUID,
        state: DeliveryState | str = "handled",
        *,
        members: Iterable[str] | None = None,
        timeout: float = 30.0,
    ) -> DeliveryStatus:
        """Wait until each of ``members`` (default: the whole audience) is in ``state`` or in a
        state it never leaves (handled, dead_lettered, skipped, refused, left), and return the
        status: check ``status.reached(state)`` and ``status.failed``.

        Raises:
            BusTimeout: not within ``timeout`` seconds (``context['status']`` is the last one
            seen). UnknownMessage. InvalidArgument: a bad state or timeout, or a member that is
            not in the audience.
        """
        ...


class BusOperations(BusMessaging, Protocol):
    """The bus: :class:`BusMessaging`, plus channels, registration and the lifecycle."""

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether :meth:`start` has run (and :meth:`stop` has not)."""
        ...

    def start(self) -> Self:
        """Connect to store and broker, and create the default channels.

        Raises:
            StoreUnavailable: the store does not answer. BrokerUnavailable: nor the broker.
        """
        ...

    def stop(self) -> None:
        """Close every consumer and connection. Safe to call twice; a receive still waiting in
        another thread returns ``None`` within a second."""
        ...

    def destroy(self) -> None:
        """Delete everything of this bus's namespace (channels, agents, queues, history) and
        stop; :meth:`start` makes it anew. For tests and for tearing a demo down."""
        ...

    # -- channels and agents -------------------------------------------------------------------

    def create_channel(
        self,
        name: str,
        *,
        kind: ChannelKind | str = ChannelKind.TOPIC,
        retention: Retention | None = None,
    ) -> ChannelInfo:
        """Create a channel, or return the existing one if it has the same kind and retention.

        Raises:
            InvalidName. ChannelExists: it exists with another kind or retention.
        """
        ...

    def update_channel(
        self,
        name: str,
        *,
        retention: Retention | None = None,
        kind: ChannelKind | str | None = None,
        overflow: Overflow | str | None = None,
        max_hops: int | None = None,
    ) -> ChannelInfo:
        """Change a channel's retention, kind, overflow policy or hop limit while the bus runs:
        every process applies it at its next publish (the store appends only for the current
        spec version). A smaller retention trims at the next append; a channel made broadcast
        gets every agent as a member. ``max_hops`` replaces ``BUS_MAX_HOPS`` for the channel
        (0: the setting's again; docs/safety.md). The change is logged.

        Raises:
            UnknownChannel. InvalidArgument: an unknown kind, a negative ``max_hops``.
        """
        ...

    def get_channel(self, name: str) -> ChannelInfo:
        """The channel's spec, members, last sequence number and retained count.

        Raises:
            UnknownChannel: there is no such channel.
        """
        ...

    def list_channels(self) -> list[ChannelInfo]:
        """Every channel, sorted by name."""
        ...

    def register_agent(
        self, agent: str, *, channels: Iterable[str] = (), receipts: bool | None = None
    ) -> None:
        """Register an agent (idempotent): its queue, its inbox, every broadcast channel, and a
        subscription to each of ``channels``. ``receipts=True`` makes it a receipt consumer:
        what becomes of each message it sends, for each member (handled, dead-lettered,
        refused), arrives in its inbox as a message of type ``receipt``
        (:func:`bus.receipts.receipt_of` reads it), in order, once each; ``False`` stops
        them; ``None`` leaves it as it is. A hosted agent with an ``on_receipt`` handler is
        made one by its worker.

        Raises:
            InvalidName, UnknownChannel: both checked before anything changes.
        """
        ...

    def register_agents(self, agents: Mapping[str, Iterable[str]]) -> None:
        """:meth:`register_agent` for each of ``agents`` (name -> channels), in batches: one
        broker channel, one store step per batch; what exists costs one store read for all.

        Raises:
            InvalidName, UnknownChannel: all checked before anything changes.
        """
        ...

    def subscribe_many(self, agent: str, channels: Iterable[str]) -> list[bool]:
        """Subscribe ``agent`` to each of ``channels`` in one batch; per channel, whether it is
        a new membership.

        Raises:
            UnknownAgent, UnknownChannel, InvalidName: checked before anything changes.
        """
        ...

    def unregister_agent(self, agent: str) -> list[str]:
        """Remove a registered agent, for good: its queue is deleted with what it held, its
        subscriptions end (broadcast memberships too), and its positions, leases and failure
        counts are forgotten. A direct message to it then raises ``UnknownAgent``; a delivery
        already on its way is acknowledged and dropped, with a log line, by the worker that
        gets it. A worker that hosts the agent registers it again when it restarts: take it
        out of the worker's agent modules too.

        Returns:
            The channels it was a member of, sorted.

        Raises:
            InvalidName, UnknownAgent: nothing changes then.
        """
        ...

    def agents(self) -> list[str]:
        """Every registered agent, sorted."""
        ...

    def agent(self, name: str, *, channels: Iterable[str] = ()) -> AgentOperations:
        """Register ``name`` (idempotent) subscribed to ``channels``; return its client.

        Raises:
            InvalidName, UnknownChannel.
        """
        ...

    # -- messages built elsewhere, and what reading skipped ------------------------------------

    def post(
        self, message: Message, *, max_bytes: int | None = None, idempotent: bool = False
    ) -> Message:
        """Publish a message built elsewhere to its channel or recipient; its ``seq`` is
        ignored (the bus assigns the next one). ``max_bytes`` overrides ``max_message_bytes``;
        ``idempotent`` makes the message's own ``id`` its idempotency key (see :meth:`publish`).

        Raises:
            UnknownChannel, UnknownAgent, MessageTooLarge.
        """
        ...

    def trace(self, message_id: UUID | str) -> Trace:
        """The causation tree of a message, from the store: its ancestors up to the oldest one
        retained (each message's ``causation_id``, followed up), and every retained message it
        caused, recursively (who answered whom, on which channel, with which seq). Bounded by
        retention; a message the guard would not let this process read is left out, with what
        it caused.

        Raises:
            UnknownMessage: no retained message has that id. InvalidArgument: not a UUID.
        """
        ...

    @property
    def skipped(self) -> dict[tuple[str, str], int]:
        """Per ``(agent, stream)``: messages retention trimmed before the agent received them
        in this process (``overflow=drop-oldest``), a metric to watch."""
        ...

"""The bus's operations, declared once: :class:`BusMessaging` (what an agent does through the
bus, all an agent client needs) and :class:`BusOperations` (all of :class:`bus.Bus`: that, the
channels and agents of :class:`~bus.api.registry_operations.RegistryOperations`, and the
lifecycle). See :mod:`bus.api` for what is built from them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, Self, Unpack
from uuid import UUID

from bus.api.registry_operations import RegistryOperations
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


class BusOperations(RegistryOperations, BusMessaging, Protocol):
    """The bus: :class:`BusMessaging`, plus channels and registration
    (:class:`~bus.api.registry_operations.RegistryOperations`) and the lifecycle."""

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

"""One agent's operations, declared once: :class:`AgentOperations`, what
:class:`bus.AgentClient` does (and, awaited, :class:`bus.AsyncAgentClient`). Every call is made
as the agent; see :mod:`bus.api` for what is built from it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, Unpack
from uuid import UUID

from bus.message import HistoryFilters, Message, MessageFields
from bus.receipts import DeliveryState, DeliveryStatus

__all__ = ["AgentOperations"]


class AgentOperations(Protocol):
    """The bus as seen by one registered agent: the sender of all it publishes and sends."""

    @property
    def name(self) -> str:
        """The agent's name, the sender of everything this client publishes."""
        ...

    def publish(self, channel: str, content: str, **fields: Unpack[MessageFields]) -> Message:
        """Publish to ``channel`` as this agent; see :meth:`bus.Bus.publish`.

        Returns:
            The message, with its sequence number.

        Raises:
            InvalidArgument: ``sender`` was passed. UnknownChannel, InvalidMessage,
            MessageTooLarge as :meth:`bus.Bus.publish`.
        """
        ...

    def send(self, recipient: str, content: str, **fields: Unpack[MessageFields]) -> Message:
        """Send a direct message to ``recipient`` as this agent; see :meth:`bus.Bus.send`.

        Returns:
            The message, with its inbox sequence number.

        Raises:
            InvalidArgument: ``sender`` was passed. UnknownAgent, InvalidMessage, MessageTooLarge.
        """
        ...

    def reply(self, message: Message, content: str, **fields: Unpack[MessageFields]) -> Message:
        """Answer ``message`` with a direct message to its ``reply_to`` (or else its sender).

        The reply carries the conversation's ``correlation_id`` (the original's, or the original's
        ``id`` when it started the conversation), so a thread can be followed however many
        replies it has. By default it keeps the original's ``type`` and ``priority``: the bus has
        no "answer" type, and a handler registered for e.g. ``review_request`` then sees the
        whole exchange, at the urgency it started with. Pass ``type=``/``priority=`` (e.g.
        ``type=MessageType.APPROVAL``) to say otherwise; any field can be overridden but
        ``sender``.

        Returns:
            The reply as sent, with its sequence number in the recipient's inbox.

        Raises:
            InvalidArgument: ``sender`` was passed. UnknownAgent: the one to answer is not
            registered. InvalidMessage, MessageTooLarge.
        """
        ...

    def request(
        self,
        recipient: str,
        content: str,
        *,
        timeout: float = 30.0,
        **fields: Unpack[MessageFields],
    ) -> Message:
        """Send ``recipient`` a direct message as this agent and wait for its reply; see
        :meth:`bus.Bus.request`.

        Returns:
            The reply.

        Raises:
            InvalidArgument: ``sender`` was passed. BusTimeout: no reply within ``timeout``
            seconds. UnknownAgent, InvalidMessage, MessageTooLarge. HopLimitExceeded,
            CircuitOpen, BudgetExceeded, AgentOverloaded: see :meth:`bus.Bus.request`.
        """
        ...

    def receive(self, channel: str | None = None, timeout: float | None = None) -> Message | None:
        """This agent's next message; see :meth:`bus.Bus.receive`.

        Args:
            channel: Read only this channel; ``None`` reads every channel and direct messages.
            timeout: Seconds to wait; ``None`` waits until a message comes, ``0`` does not wait.

        Returns:
            The message, or ``None`` when the timeout passed.

        Raises:
            NotSubscribed: the agent is not a member of ``channel``. UnknownAgent, UnknownChannel.
        """
        ...

    def subscribe(self, channel: str) -> bool:
        """Join ``channel``, receiving what is published from now on.

        Returns:
            ``False`` if the agent was a member already.

        Raises:
            UnknownChannel, UnknownAgent.
        """
        ...

    def unsubscribe(self, channel: str) -> bool:
        """Leave ``channel``.

        Returns:
            ``False`` if the agent was not a member.

        Raises:
            InvalidArgument: ``channel`` is a broadcast channel. UnknownChannel, UnknownAgent.
        """
        ...

    def subscriptions(self) -> list[str]:
        """The channels this agent receives, sorted (broadcast channels included)."""
        ...

    def history(self, channel: str, **filters: Unpack[HistoryFilters]) -> list[Message]:
        """A channel's retained messages, oldest first; see :meth:`bus.Bus.history`.

        Raises:
            UnknownChannel; InvalidArgument for a negative number or a naive datetime.
        """
        ...

    def direct_history(self, **filters: Unpack[HistoryFilters]) -> list[Message]:
        """The direct messages this agent was sent that are still retained, oldest first; see
        :meth:`bus.Bus.direct_history`."""
        ...

    def status(self, message_id: str | UUID) -> DeliveryStatus:
        """What became of a message (this agent's, or any it knows the id of), for each member;
        see :meth:`bus.Bus.status`.

        Raises:
            UnknownMessage; InvalidArgument: not a UUID; PermissionDenied: with auth on,
            neither its sender nor allowed to read its stream.
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
        """Wait until the message's members reach ``state`` (or a state they never leave);
        see :meth:`bus.Bus.wait_for`.

        Raises:
            BusTimeout, UnknownMessage, InvalidArgument.
        """
        ...

"""One agent's view of the bus: every call is made as that agent.

:meth:`bus.Bus.agent` registers an agent and returns its :class:`AgentClient`, which stamps the
agent as sender of everything it publishes or sends and reads its own inbox, so agent code
never passes its own name around (and cannot send as someone else by mistake).
"""

from __future__ import annotations

from typing import Any, Protocol, Unpack

from bus.errors import InvalidArgument
from bus.message import HistoryFilters, Message, MessageFields
from bus.names import check_agent_name

__all__ = ["AgentClient", "BusAPI", "HistoryFilters", "MessageFields", "check_fields"]


class BusAPI(Protocol):
    """The part of :class:`bus.Bus` an agent client acts through (so this module needs no
    import of the facade, which makes the clients)."""

    def publish(
        self, channel: str, content: str, *, sender: str, **fields: Unpack[MessageFields]
    ) -> Message: ...

    def send(
        self, recipient: str, content: str, *, sender: str, **fields: Unpack[MessageFields]
    ) -> Message: ...

    def request(
        self, recipient: str, content: str, *, sender: str, timeout: float = ..., **fields: Any
    ) -> Message: ...

    def receive(
        self, agent: str, *, channel: str | None = ..., timeout: float | None = ...
    ) -> Message | None: ...

    def subscribe(self, agent: str, channel: str) -> bool: ...

    def unsubscribe(self, agent: str, channel: str) -> bool: ...

    def subscriptions(self, agent: str) -> list[str]: ...

    def history(self, channel: str, **filters: Unpack[HistoryFilters]) -> list[Message]: ...

    def direct_history(self, agent: str, **filters: Unpack[HistoryFilters]) -> list[Message]: ...


def check_fields(fields: dict[str, Any]) -> None:
    """Refuse a ``sender`` among an agent's message fields: the agent is always the sender.

    Raises:
        InvalidArgument: ``sender`` is one of ``fields``.
    """
    if "sender" in fields:
        raise InvalidArgument(
            "an agent client always sends as its own agent: do not pass 'sender'",
            sender=fields["sender"],
        )


class AgentClient:
    """The bus as seen by one registered agent.

    Args:
        bus: The (started) bus to act on.
        name: The agent's name; it should be registered (:meth:`bus.Bus.agent` does both).

    Raises:
        InvalidName: ``name`` is not a valid agent name.
    """

    def __init__(self, bus: BusAPI, name: str) -> None:
        self._bus = bus
        self._name = check_agent_name(name)

    @property
    def name(self) -> str:
        """The agent's name, the sender of everything this client publishes."""
        return self._name

    @property
    def bus(self) -> BusAPI:
        """The bus this client acts on (a :class:`bus.Bus`)."""
        return self._bus

    def __repr__(self) -> str:
        return f"AgentClient({self._name!r})"

    def publish(self, channel: str, content: str, **fields: Unpack[MessageFields]) -> Message:
        """Publish to ``channel`` as this agent; see :meth:`bus.Bus.publish`.

        Returns:
            The message, with its sequence number.

        Raises:
            InvalidArgument: ``sender`` was passed. UnknownChannel, InvalidMessage,
            MessageTooLarge as :meth:`bus.Bus.publish`.
        """
        check_fields(dict(fields))
        return self._bus.publish(channel, content, sender=self._name, **fields)

    def send(self, recipient: str, content: str, **fields: Unpack[MessageFields]) -> Message:
        """Send a direct message to ``recipient`` as this agent; see :meth:`bus.Bus.send`.

        Returns:
            The message, with its inbox sequence number.

        Raises:
            InvalidArgument: ``sender`` was passed. UnknownAgent, InvalidMessage, MessageTooLarge.
        """
        check_fields(dict(fields))
        return self._bus.send(recipient, content, sender=self._name, **fields)

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
        check_fields(dict(fields))
        fields.setdefault("type", message.type)
        fields.setdefault("priority", message.priority)
        fields.setdefault("correlation_id", message.correlation_id or message.id)
        recipient = message.reply_to or message.sender
        return self._bus.send(recipient, content, sender=self._name, **fields)

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
            seconds. UnknownAgent, InvalidMessage, MessageTooLarge.
        """
        check_fields(dict(fields))
        return self._bus.request(recipient, content, sender=self._name, timeout=timeout, **fields)

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
        return self._bus.receive(self._name, channel=channel, timeout=timeout)

    def subscribe(self, channel: str) -> bool:
        """Join ``channel``, receiving what is published from now on.

        Returns:
            ``False`` if the agent was a member already.

        Raises:
            UnknownChannel, UnknownAgent.
        """
        return self._bus.subscribe(self._name, channel)

    def unsubscribe(self, channel: str) -> bool:
        """Leave ``channel``.

        Returns:
            ``False`` if the agent was not a member.

        Raises:
            InvalidArgument: ``channel`` is a broadcast channel. UnknownChannel, UnknownAgent.
        """
        return self._bus.unsubscribe(self._name, channel)

    def subscriptions(self) -> list[str]:
        """The channels this agent receives, sorted (broadcast channels included)."""
        return self._bus.subscriptions(self._name)

    def history(self, channel: str, **filters: Unpack[HistoryFilters]) -> list[Message]:
        """A channel's retained messages, oldest first; see :meth:`bus.Bus.history`.

        Raises:
            UnknownChannel; InvalidArgument for a negative number or a naive datetime.
        """
        return self._bus.history(channel, **filters)

    def direct_history(self, **filters: Unpack[HistoryFilters]) -> list[Message]:
        """The direct messages this agent was sent that are still retained, oldest first; see
        :meth:`bus.Bus.direct_history`."""
        return self._bus.direct_history(self._name, **filters)

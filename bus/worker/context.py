"""What a handler gets besides the message: the bus, as the agent that handles it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bus.errors import InvalidArgument, UnknownAgent
from bus.message import Message

if TYPE_CHECKING:
    from bus.core import Bus

logger = logging.getLogger(__name__)


class Context:
    """Publish, send, reply, request and read history as the agent handling a message.

    The sender of everything sent through a context is the agent: a handler cannot speak for
    another agent.
    """

    def __init__(
        self, bus: Bus, agent: str, message: Message, *, task_id: str | None, attempt: int
    ) -> None:
        self.bus = bus
        #: The agent handling the message.
        self.agent = agent
        #: The message being handled.
        self.message = message
        #: The Celery task id of the delivery (shown in Flower).
        self.task_id = task_id
        #: 1 on the first try, 2 on the first retry, ...
        self.attempt = attempt

    def _fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        if "sender" in fields:
            raise InvalidArgument("a handler sends as its own agent; 'sender' cannot be set")
        return fields

    def publish(self, channel: str, content: str, **fields: Any) -> Message:
        """Publish to ``channel`` as this agent (see :meth:`bus.Bus.publish`)."""
        return self.bus.publish(channel, content, sender=self.agent, **self._fields(fields))

    def send(self, recipient: str, content: str, **fields: Any) -> Message:
        """Send a direct message as this agent (see :meth:`bus.Bus.send`)."""
        return self.bus.send(recipient, content, sender=self.agent, **self._fields(fields))

    def reply(self, content: str, **fields: Any) -> Message | None:
        """Answer the message being handled: a direct message to its ``reply_to`` (or sender),
        carrying its correlation id, so a waiting :meth:`bus.Bus.request` gets it.

        Returns:
            The reply, or ``None`` if its addressee is neither waiting nor a registered agent
            (a client whose request timed out): the handler is not failed for that.
        """
        original = self.message
        fields = self._fields(fields)
        fields.setdefault("correlation_id", original.correlation_id or original.id)
        fields.setdefault("type", original.type)
        recipient = original.reply_to or original.sender
        try:
            return self.bus.send(recipient, content, sender=self.agent, **fields)
        except UnknownAgent:
            logger.warning(
                "%s's reply to %s was dropped: %r no longer waits and is not an agent",
                self.agent,
                original.id,
                recipient,
            )
            return None

    def request(
        self, recipient: str, content: str, *, timeout: float = 30.0, **fields: Any
    ) -> Message:
        """Ask another agent and wait for its reply (see :meth:`bus.Bus.request`)."""
        return self.bus.request(
            recipient, content, sender=self.agent, timeout=timeout, **self._fields(fields)
        )

    def history(
        self,
        channel: str,
        *,
        limit: int | None = None,
        after: int | None = None,
        since: datetime | None = None,
    ) -> list[Message]:
        """A channel's history (see :meth:`bus.Bus.history`)."""
        return self.bus.history(channel, limit=limit, after=after, since=since)

"""One agent's view of the bus: every call is made as that agent.

:meth:`bus.Bus.agent` registers an agent and returns its :class:`AgentClient`, which stamps the
agent as sender of everything it publishes or sends and reads its own inbox, so agent code
never passes its own name around (and cannot send as someone else by mistake).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Unpack
from uuid import UUID

from bus.api import AgentOperations, BusMessaging, documented
from bus.errors import InvalidArgument
from bus.message import HistoryFilters, Message, MessageFields
from bus.names import check_agent_name
from bus.receipts import DeliveryState, DeliveryStatus
from bus.tracing import Cause, caused_by

__all__ = ["AgentClient", "BusAPI", "HistoryFilters", "MessageFields", "check_fields"]


#: The part of :class:`bus.Bus` an agent client acts through (so this module needs no import of
#: the facade, which makes the clients); declared in :mod:`bus.api`.
BusAPI = BusMessaging


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


@documented
class AgentClient(AgentOperations):
    """The bus as seen by one registered agent; its operations are declared, with their
    documentation, in :class:`bus.api.AgentOperations`.

    Args:
        bus: The (started) bus to act on.
        name: The agent's name; it should be registered (:meth:`bus.Bus.agent` does both).
        cause: The message being handled (a handler's ``ctx``): what this client publishes,
            sends or requests is caused by it (``causation_id``, ``hops``, its trace context,
            each unless given) and the usage it reports is added to it.

    Raises:
        InvalidName: ``name`` is not a valid agent name.
    """

    def __init__(self, bus: BusAPI, name: str, *, cause: Cause | None = None) -> None:
        self._bus = bus
        self._name = check_agent_name(name)
        self._cause = cause

    def _caused(self, fields: dict[str, Any], cause: Message | None = None) -> dict[str, Any]:
        check_fields(fields)
        if cause is not None:
            caused_by(fields, cause)
        elif self._cause is not None:
            caused_by(fields, self._cause.message)
        return fields

    def _spent(self, message: Message) -> Message:
        if self._cause is not None:
            self._cause.spent(message)
        return message

    @property
    def name(self) -> str:
        return self._name

    @property
    def bus(self) -> BusAPI:
        """The bus this client acts on (a :class:`bus.Bus`)."""
        return self._bus

    def __repr__(self) -> str:
        return f"AgentClient({self._name!r})"

    def publish(self, channel: str, content: str, **fields: Unpack[MessageFields]) -> Message:
        caused = self._caused(dict(fields))
        return self._spent(self._bus.publish(channel, content, sender=self._name, **caused))

    def send(self, recipient: str, content: str, **fields: Unpack[MessageFields]) -> Message:
        caused = self._caused(dict(fields))
        return self._spent(self._bus.send(recipient, content, sender=self._name, **caused))

    def reply(self, message: Message, content: str, **fields: Unpack[MessageFields]) -> Message:
        caused = self._caused(dict(fields), message)  # the message answered is the cause
        caused.setdefault("type", message.type)
        caused.setdefault("priority", message.priority)
        caused.setdefault("correlation_id", message.correlation_id or message.id)
        recipient = message.reply_to or message.sender
        return self._spent(self._bus.send(recipient, content, sender=self._name, **caused))

    def request(
        self,
        recipient: str,
        content: str,
        *,
        timeout: float = 30.0,
        **fields: Unpack[MessageFields],
    ) -> Message:
        caused = self._caused(dict(fields))
        return self._bus.request(recipient, content, sender=self._name, timeout=timeout, **caused)

    def receive(self, channel: str | None = None, timeout: float | None = None) -> Message | None:
        return self._bus.receive(self._name, channel=channel, timeout=timeout)

    def subscribe(self, channel: str) -> bool:
        return self._bus.subscribe(self._name, channel)

    def unsubscribe(self, channel: str) -> bool:
        return self._bus.unsubscribe(self._name, channel)

    def subscriptions(self) -> list[str]:
        return self._bus.subscriptions(self._name)

    def history(self, channel: str, **filters: Unpack[HistoryFilters]) -> list[Message]:
        return self._bus.history(channel, **filters)

    def direct_history(self, **filters: Unpack[HistoryFilters]) -> list[Message]:
        return self._bus.direct_history(self._name, **filters)

    def status(self, message_id: str | UUID) -> DeliveryStatus:
        return self._bus.status(message_id)

    def wait_for(
        self,
        message_id: str | UUID,
        state: DeliveryState | str = "handled",
        *,
        members: Iterable[str] | None = None,
        timeout: float = 30.0,
    ) -> DeliveryStatus:
        return self._bus.wait_for(message_id, state, members=members, timeout=timeout)

"""The bus a handler is handed: the worker's bus, bound to the handler's agent.

A handler's ``ctx.bus`` (and so everything its ``ctx`` does) is a :class:`BoundBus`: the same
operations as :class:`bus.Bus`, each run as a call of its agent (:mod:`bus.access.speaking`).
A ``sender`` other than the agent, or acting for another agent (receiving, subscribing,
unregistering), is :class:`~bus.errors.PermissionDenied` naming both; stopping or destroying
the worker's bus is refused too. Reading (history, receipts, traces) is done as the agent.
The guard enforces the same rule below it, so the worker's :class:`~bus.Bus` reached any other
way cannot sign as a hosted agent either (:meth:`bus.access.guard.Guard.confine`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, Unpack
from uuid import UUID

from bus.access.speaking import speaking_as
from bus.api import AgentOperations, BusOperations, documented
from bus.channels import ChannelInfo, ChannelKind, Overflow, Retention
from bus.client import AgentClient
from bus.errors import PermissionDenied
from bus.message import HistoryFilters, Message, MessageFields
from bus.receipts import DeliveryState, DeliveryStatus
from bus.tracing.tree import Trace

if TYPE_CHECKING:
    from bus.core import Bus

T = TypeVar("T")


@documented
class BoundBus(BusOperations):
    """The worker's ``bus`` as one hosted agent may use it (see the module doc).

    Args:
        bus: The worker process's bus.
        agent: The agent whose handler gets it.
    """

    def __init__(self, bus: Bus, agent: str) -> None:
        self.__bus = bus
        self.__agent = agent

    def __repr__(self) -> str:
        return f"BoundBus({self.__agent!r})"

    def _as(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with speaking_as(self.__agent):
            return function(*args, **kwargs)

    def _own(self, name: str, what: str, field: str = "agent") -> None:
        if name != self.__agent:
            raise PermissionDenied(
                f"agent {self.__agent!r} may not {what} {name!r}: a handler acts only as its "
                "own agent",
                identity=self.__agent,
                action=what.split()[0],
                **{field: name},
            )

    # -- lifecycle: the worker's, not the handler's --------------------------------------------

    @property
    def started(self) -> bool:
        return self.__bus.started

    def start(self) -> Self:
        return self

    def stop(self) -> None:
        self._refuse("stop")

    def destroy(self) -> None:
        self._refuse("destroy")

    def _refuse(self, what: str) -> None:
        raise PermissionDenied(
            f"agent {self.__agent!r} may not {what} the worker's bus: it serves every agent "
            "the worker hosts",
            identity=self.__agent,
            action=what,
        )

    # -- messages: sent as the agent only ------------------------------------------------------

    def publish(
        self, channel: str, content: str, *, sender: str, **fields: Unpack[MessageFields]
    ) -> Message:
        self._own(sender, "publish as", "sender")
        return self._as(self.__bus.publish, channel, content, sender=sender, **fields)

    def send(
        self, recipient: str, content: str, *, sender: str, **fields: Unpack[MessageFields]
    ) -> Message:
        self._own(sender, "send as", "sender")
        return self._as(self.__bus.send, recipient, content, sender=sender, **fields)

    def request(
        self,
        recipient: str,
        content: str,
        *,
        sender: str,
        timeout: float = 30.0,
        **fields: Unpack[MessageFields],
    ) -> Message:
        self._own(sender, "request as", "sender")
        call = self.__bus.request
        return self._as(call, recipient, content, sender=sender, timeout=timeout, **fields)

    def post(
        self, message: Message, *, max_bytes: int | None = None, idempotent: bool = False
    ) -> Message:
        self._own(message.sender, "post as", "sender")
        return self._as(self.__bus.post, message, max_bytes=max_bytes, idempotent=idempotent)

    # -- reading, as the agent -----------------------------------------------------------------

    def receive(
        self, agent: str, *, channel: str | None = None, timeout: float | None = None
    ) -> Message | None:
        self._own(agent, "receive for")
        return self._as(self.__bus.receive, agent, channel=channel, timeout=timeout)

    def history(self, channel: str, **filters: Unpack[HistoryFilters]) -> list[Message]:
        return self._as(self.__bus.history, channel, **filters)

    def direct_history(self, agent: str, **filters: Unpack[HistoryFilters]) -> list[Message]:
        # Another's inbox: only the direct messages this agent sent there (the guard filters).
        return self._as(self.__bus.direct_history, agent, **filters)

    def status(self, message_id: str | UUID) -> DeliveryStatus:
        return self._as(self.__bus.status, message_id)

    def wait_for(
        self,
        message_id: str | UUID,
        state: DeliveryState | str = "handled",
        *,
        members: Iterable[str] | None = None,
        timeout: float = 30.0,
    ) -> DeliveryStatus:
        call = self.__bus.wait_for
        return self._as(call, message_id, state, members=members, timeout=timeout)

    def trace(self, message_id: UUID | str) -> Trace:
        return self._as(self.__bus.trace, message_id)

    @property
    def skipped(self) -> dict[tuple[str, str], int]:
        return self.__bus.skipped

    # -- membership: the agent's own -----------------------------------------------------------

    def subscribe(self, agent: str, channel: str) -> bool:
        self._own(agent, "subscribe")
        return self._as(self.__bus.subscribe, agent, channel)

    def unsubscribe(self, agent: str, channel: str) -> bool:
        self._own(agent, "unsubscribe")
        return self._as(self.__bus.unsubscribe, agent, channel)

    def subscribe_many(self, agent: str, channels: Iterable[str]) -> list[bool]:
        self._own(agent, "subscribe")
        return self._as(self.__bus.subscribe_many, agent, channels)

    def subscriptions(self, agent: str) -> list[str]:
        return self._as(self.__bus.subscriptions, agent)

    def unregister_agent(self, agent: str) -> list[str]:
        self._own(agent, "unregister")
        return self._as(self.__bus.unregister_agent, agent)

    def agent(self, name: str, *, channels: Iterable[str] = ()) -> AgentOperations:
        self._own(name, "act as")
        self._as(self.__bus.register_agent, name, channels=channels)
        return AgentClient(self, name)

    # -- channels and names (not identities) ---------------------------------------------------

    def create_channel(
        self,
        name: str,
        *,
        kind: ChannelKind | str = ChannelKind.TOPIC,
        retention: Retention | None = None,
    ) -> ChannelInfo:
        return self._as(self.__bus.create_channel, name, kind=kind, retention=retention)

    def update_channel(
        self,
        name: str,
        *,
        retention: Retention | None = None,
        kind: ChannelKind | str | None = None,
        overflow: Overflow | str | None = None,
        max_hops: int | None = None,
    ) -> ChannelInfo:
        call = self.__bus.update_channel
        return self._as(
            call, name, retention=retention, kind=kind, overflow=overflow, max_hops=max_hops
        )

    def get_channel(self, name: str) -> ChannelInfo:
        return self._as(self.__bus.get_channel, name)

    def list_channels(self) -> list[ChannelInfo]:
        return self._as(self.__bus.list_channels)

    def register_agent(
        self, agent: str, *, channels: Iterable[str] = (), receipts: bool | None = None
    ) -> None:
        self._as(self.__bus.register_agent, agent, channels=channels, receipts=receipts)

    def register_agents(self, agents: Mapping[str, Iterable[str]]) -> None:
        self._as(self.__bus.register_agents, agents)

    def agents(self) -> list[str]:
        return self._as(self.__bus.agents)

"""What a handler gets besides the message: the bus as the agent that handles it.

A handler's ``ctx`` is the agent's client (:class:`~bus.client.AgentClient`, or for an
``async def`` handler :class:`~bus.aio.AsyncAgentClient`, whose calls are awaited) with the
delivery's extras: the message being handled, the attempt, the Celery task id, and the agent's
per-process :class:`AgentState`. Everything sent through it is sent as the agent, and its
``bus`` is the worker's bus bound to the agent (:class:`~bus.worker.bound_bus.BoundBus`).

Being agent clients, both contexts offer the operations :class:`bus.api.AgentOperations`
declares, as declared (``tests/unit/test_api_parity.py`` holds them to it); ``reply`` is
overloaded so that ``ctx.reply(content)`` answers the message being handled.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Unpack, overload

from bus.aio import AsyncAgentClient, AsyncBus
from bus.client import AgentClient
from bus.errors import InvalidArgument, UnknownAgent
from bus.message import Message, MessageFields
from bus.store.contracts.guards import Spend
from bus.tracing import Cause
from bus.worker.bound_bus import BoundBus

if TYPE_CHECKING:
    from bus.core import Bus

logger = logging.getLogger(__name__)


class AgentState(SimpleNamespace):
    """What an agent's startup hooks made in this worker process (clients, pools, caches):
    set attributes on it in ``@agent.on_startup``, read them as ``ctx.state`` in handlers."""


class HandlerContext(AgentClient):
    """The ``ctx`` of a plain (sync) handler: an :class:`~bus.client.AgentClient` for the agent
    handling ``message``, plus the delivery's extras."""

    def __init__(
        self,
        bus: Bus,
        agent: str,
        message: Message,
        *,
        task_id: str | None,
        attempt: int,
        state: AgentState | None = None,
        skipped: int = 0,
    ) -> None:
        #: The message being handled, and the usage the messages its handler sends report.
        self.cause = Cause(message)
        # The worker's bus, bound to this agent: it cannot send, receive or act as another.
        super().__init__(BoundBus(bus, agent), agent, cause=self.cause)
        self._host = bus
        #: How many messages of this stream retention trimmed before the agent read them,
        #: just before this one (``overflow=drop-oldest``): 0 when it read on in order.
        self.skipped = skipped
        #: The message being handled.
        self.message = message
        #: The Celery task id of the delivery that started this run (shown in Flower).
        self.task_id = task_id
        #: 1 on the first try, 2 on the first retry, ...
        self.attempt = attempt
        #: What the agent's startup hooks made in this worker process.
        self.state = state if state is not None else AgentState()

    @property
    def agent(self) -> str:
        """The agent handling the message (its :attr:`name`)."""
        return self.name

    def report_usage(self, *, tokens: int = 0, cost: float = 0.0) -> Spend:
        """Charge usage (an LLM call's tokens and cost) to the agent's budget, shared by every
        worker process (``BUS_BUDGET_TOKENS``, ``BUS_BUDGET_COST``): over it, the agent's
        publishes are refused (``BudgetExceeded``). Returns its spend in the window now.

        Raises:
            InvalidArgument: ``tokens`` or ``cost`` is negative.
        """
        if tokens < 0 or cost < 0:
            raise InvalidArgument(
                f"usage cannot be negative: tokens={tokens!r}, cost={cost!r}", agent=self.name
            )
        window = int(self._host.settings.budget_window * 1000)
        return self._host.store.guards.charge(self.name, int(tokens), float(cost), window)

    @overload
    def reply(self, content: str, /, **fields: Unpack[MessageFields]) -> Message | None: ...

    @overload
    def reply(
        self, message: Message, content: str, /, **fields: Unpack[MessageFields]
    ) -> Message: ...

    def reply(self, *args: Any, **fields: Any) -> Message | None:
        """Answer the message being handled (``ctx.reply("done")``), or another one
        (``ctx.reply(message, "done")``), as :meth:`bus.client.AgentClient.reply` does: to its
        ``reply_to`` or sender, with its correlation id, type and priority.

        Returns:
            The reply; ``None`` when answering the message being handled and its addressee is
            neither waiting nor a registered agent (a client whose request timed out): the
            handler is not failed for that.
        """
        if len(args) == 2:
            return super().reply(args[0], args[1], **fields)
        (content,) = args
        try:
            return super().reply(self.message, content, **fields)
        except UnknownAgent:
            logger.warning(
                "%s's reply to %s was dropped: %r no longer waits and is not an agent",
                self.name,
                self.message.id,
                self.message.reply_to or self.message.sender,
            )
            return None


class AsyncHandlerContext(AsyncAgentClient):
    """The ``ctx`` of an ``async def`` handler: an :class:`~bus.aio.AsyncAgentClient` (every
    bus call awaited, on the worker's I/O threads, never blocking the event loop), plus the
    delivery's extras."""

    def __init__(self, bus: AsyncBus, context: HandlerContext) -> None:
        super().__init__(bus, context)
        self._context = context
        self.message = context.message
        self.task_id = context.task_id
        self.attempt = context.attempt
        self.skipped = context.skipped
        self.state = context.state

    @property
    def agent(self) -> str:
        """The agent handling the message (its :attr:`name`)."""
        return self.name

    async def report_usage(self, *, tokens: int = 0, cost: float = 0.0) -> Spend:
        """See :meth:`HandlerContext.report_usage`, awaited."""
        return await self.bus.call(self._context.report_usage, tokens=tokens, cost=cost)

    @overload
    async def reply(self, content: str, /, **fields: Unpack[MessageFields]) -> Message | None: ...

    @overload
    async def reply(
        self, message: Message, content: str, /, **fields: Unpack[MessageFields]
    ) -> Message: ...

    async def reply(self, *args: Any, **fields: Any) -> Message | None:
        """See :meth:`HandlerContext.reply`, awaited."""
        return await self.bus.call(self._context.reply, *args, **fields)


#: The name worker code used before contexts became agent clients.
Context = HandlerContext

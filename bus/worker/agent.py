"""Declaring agents: a name, the channels it listens to, its handlers and lifecycle hooks.

    from bus.worker import Agent

    reviewer = Agent("reviewer", channels=["#code-review"])

    @reviewer.on_startup
    async def open_client(state):          # once per worker process, on its event loop
        state.llm = httpx.AsyncClient()

    @reviewer.on("review_request", min_priority="normal")
    async def review(message, ctx):
        answer = await ctx.state.llm.post(...)
        await ctx.reply("LGTM")

    @reviewer.on_shutdown
    async def close_client(state):
        await state.llm.aclose()

Handlers take ``(message, ctx)``. ``async def`` handlers run on the worker process's event loop
and get an :class:`~bus.worker.context.AsyncHandlerContext` (``await ctx.publish(...)``); plain
ones run on a thread and get a :class:`~bus.worker.context.HandlerContext`.

An ``Agent`` is a definition: it belongs to no process-wide list. A worker hosts the agents of
its :class:`~bus.worker.agent_registry.AgentRegistry`, which :func:`~bus.worker.load_agents` fills
from the agents agent modules (``workers/``, ``BUS_AGENT_MODULES``) define as module attributes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from bus.dispatch import Dispatcher, H, Route
from bus.errors import InvalidArgument
from bus.kinds import MessageType, Priority
from bus.message import Message
from bus.names import check_agent_name, check_channel_name
from bus.receipts import RECEIPT_TYPE, Receipt, receipt_of
from bus.store.contracts.guards import AgentLimits

#: A lifecycle hook: ``hook(state)``, sync or async.
Hook = Callable[[Any], Any]


class Agent:
    """An agent a Celery worker hosts.

    Args:
        name: The agent's name (its queue is ``<namespace>.agent.<name>``).
        channels: Channels it subscribes to when a worker hosting it starts.
        description: What it does, for listings.
        timeout: Seconds its ``async def`` handlers may run (``BUS_HANDLER_TIMEOUT`` if unset).
        receive_own: Whether its handlers see its own posts on its channels. By default they
            do not: what it publishes to a channel it is a member of is stored and delivered
            to the others, and its own stream moves past it without running a handler.
        limits: Its own guard limits (``AgentLimits(max_hops=, max_pending=, budget_tokens=,
            budget_cost=)``; ``None`` fields: the bus's settings), kept in the store when a
            worker hosting it registers it, so every publisher applies them (docs/safety.md).

    Raises:
        InvalidName: a name is invalid.
        InvalidArgument: ``timeout`` is not a positive number.
    """

    def __init__(
        self,
        name: str,
        *,
        channels: Iterable[str] = (),
        description: str = "",
        timeout: float | None = None,
        receive_own: bool = False,
        limits: AgentLimits | None = None,
    ) -> None:
        self.name = check_agent_name(name)
        self.channels = tuple(check_channel_name(channel) for channel in channels)
        self.description = description
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise InvalidArgument(f"timeout must be a number > 0, not {timeout!r}", agent=name)
        self.timeout = timeout
        #: Its own guard limits (see :mod:`bus.store.contracts.guards`).
        self.limits = limits or AgentLimits()
        #: Whether its handlers see its own channel posts.
        self.receive_own = receive_own
        #: Routes the agent's messages to its handlers (its own channel posts to none, unless
        #: ``receive_own``).
        self.dispatcher = Dispatcher(ignore_from=None if receive_own else self.name)
        #: Whether it consumes pushed receipts (it declared an ``on_receipt`` handler).
        self.receipts = False
        #: Hooks run once per worker process, in registration order.
        self.startup_hooks: list[Hook] = []
        self.shutdown_hooks: list[Hook] = []

    def __repr__(self) -> str:
        return f"Agent({self.name!r}, channels={list(self.channels)!r})"

    def on(
        self,
        *types: MessageType | str,
        channel: str | Iterable[str] | None = None,
        min_priority: Priority | str = Priority.LOW,
    ) -> Callable[[H], H]:
        """Register a handler for channel messages: of ``types`` (all if none), on ``channel``
        (any of the agent's channels if ``None``), of at least ``min_priority``."""
        return self.dispatcher.on(*types, min_priority=min_priority, channel=channel, direct=False)

    def on_direct(
        self, *types: MessageType | str, min_priority: Priority | str = Priority.LOW
    ) -> Callable[[H], H]:
        """Register a handler for direct messages to this agent."""
        return self.dispatcher.on(*types, min_priority=min_priority, direct=True)

    def on_receipt(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Register ``handler(receipt, ctx)`` for the receipts of the messages this agent sends
        (:class:`~bus.receipts.Receipt`: handled, dead-lettered or refused, per member, in the
        order they were committed). Declaring one makes the agent a receipt consumer when its
        worker registers it; sync or async like any handler."""
        if inspect.iscoroutinefunction(handler):

            async def receipt_async(message: Message, *context: Any) -> Any:
                return await handler(_receipt(message), *context)

            wrapped: Callable[..., Any] = functools.wraps(handler)(receipt_async)
        else:

            def receipt_sync(message: Message, *context: Any) -> Any:
                return handler(_receipt(message), *context)

            wrapped = functools.wraps(handler)(receipt_sync)
        self.dispatcher.on(RECEIPT_TYPE, direct=True)(wrapped)
        self.receipts = True
        return handler

    def on_startup(self, hook: Hook) -> Hook:
        """Run ``hook(state)`` once per worker process before any handler (on the process's
        event loop if it is ``async def``): open clients there, keep them on ``state``
        (handlers read it as ``ctx.state``)."""
        self.startup_hooks.append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        """Run ``hook(state)`` once per worker process when it stops, after its handlers."""
        self.shutdown_hooks.append(hook)
        return hook

    def routes_for(self, message: Message) -> list[Route]:
        """The routes that take ``message``, in registration order."""
        return self.dispatcher.routes_for(message)

    def handlers_for(self, message: Message) -> list[Callable[..., Any]]:
        """The handlers that take ``message``, in registration order."""
        return [route.handler for route in self.routes_for(message)]


def _receipt(message: Message) -> Receipt:
    """The receipt ``message`` carries (an ``on_receipt`` handler is given it, not the message).

    Raises:
        InvalidArgument: the message of type ``receipt`` carries none (not the bus's).
    """
    receipt = receipt_of(message)
    if receipt is None:
        raise InvalidArgument(f"message {message.id} of type receipt carries no receipt")
    return receipt

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
ones run on a thread and get a :class:`~bus.worker.context.HandlerContext`. Agent modules live
in ``workers/``; :func:`load_agents` imports the modules named by ``BUS_AGENT_MODULES``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from bus.dispatch import Dispatcher, H, Route
from bus.errors import ConfigurationError, InvalidArgument
from bus.message import Message, MessageType, Priority
from bus.names import check_agent_name, check_channel_name

#: A lifecycle hook: ``hook(state)``, sync or async.
Hook = Callable[[Any], Any]

#: Every Agent defined so far in this process, by name.
_defined: dict[str, Agent] = {}


class Agent:
    """An agent a Celery worker hosts.

    Args:
        name: The agent's name (its queue is ``<namespace>.agent.<name>``).
        channels: Channels it subscribes to when a worker hosting it starts.
        description: What it does, for listings.
        timeout: Seconds its ``async def`` handlers may run (``BUS_HANDLER_TIMEOUT`` if unset).

    Raises:
        InvalidName: a name is invalid. ConfigurationError: another agent has the same name.
        InvalidArgument: ``timeout`` is not a positive number.
    """

    def __init__(
        self,
        name: str,
        *,
        channels: Iterable[str] = (),
        description: str = "",
        timeout: float | None = None,
    ) -> None:
        self.name = check_agent_name(name)
        self.channels = tuple(check_channel_name(channel) for channel in channels)
        self.description = description
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise InvalidArgument(f"timeout must be a number > 0, not {timeout!r}", agent=name)
        self.timeout = timeout
        #: Routes the agent's messages to its handlers.
        self.dispatcher = Dispatcher()
        #: Hooks run once per worker process, in registration order.
        self.startup_hooks: list[Hook] = []
        self.shutdown_hooks: list[Hook] = []
        #: The module that defined the agent: what :func:`load_agents` selects by.
        self.module: str = sys._getframe(1).f_globals.get("__name__", "")
        if name in _defined:
            raise ConfigurationError(f"agent {name!r} is defined twice", agent=name)
        _defined[name] = self

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


def import_from_working_directory(module: str) -> ModuleType:
    """Import ``module`` the way ``celery -A proj`` finds ``proj``: from the working directory
    too, so agent modules (``workers/`` of a checkout, or your own) need no install."""
    cwd = os.getcwd()
    if cwd in sys.path or "" in sys.path:
        return importlib.import_module(module)
    sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module)
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(cwd)


def load_agents(modules: Iterable[str], names: Iterable[str] = ()) -> dict[str, Agent]:
    """Import agent modules and return the agents a worker hosts, by name: those the modules
    define (not every agent defined in the process).

    Args:
        modules: Module paths, e.g. ``("workers.company",)``.
        names: Agents to host; empty means every agent the modules define.

    Raises:
        ConfigurationError: a module cannot be imported, or a named agent is not defined.
    """
    for module in modules:
        try:
            import_from_working_directory(module)
        except ImportError as exc:
            raise ConfigurationError(
                f"cannot import agent module {module!r} (BUS_AGENT_MODULES): {exc}", module=module
            ) from exc
    loaded = set(modules)
    defined = {name: agent for name, agent in _defined.items() if agent.module in loaded}
    wanted = list(names)
    missing = [name for name in wanted if name not in defined]
    if missing:
        raise ConfigurationError(
            f"BUS_AGENTS names agents the modules do not define: {', '.join(missing)} "
            f"(defined: {', '.join(sorted(defined)) or 'none'})",
            agents=missing,
        )
    return {name: defined[name] for name in (wanted or sorted(defined))}

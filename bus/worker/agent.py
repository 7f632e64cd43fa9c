"""Declaring agents: a name, the channels it listens to, and its handlers.

    from bus.worker import Agent

    reviewer = Agent("reviewer", channels=["#code-review"])

    @reviewer.on("review_request", min_priority="normal")
    def review(message, ctx):
        ctx.reply("LGTM")

    @reviewer.on_direct()
    async def answer(message, ctx):
        ctx.reply(f"you said {message.content!r}")

Handlers take ``(message, ctx)`` and may be ``async def``. Agent modules live in ``workers/``;
:func:`load_agents` imports the modules named by ``BUS_AGENT_MODULES``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bus.errors import ConfigurationError, InvalidArgument
from bus.message import Message, MessageType, Priority
from bus.names import check_agent_name, check_channel_name

if TYPE_CHECKING:
    from bus.worker.context import Context

Handler = Callable[["Message", "Context"], Any | Awaitable[Any]]

#: Every Agent defined so far in this process, by name.
_defined: dict[str, Agent] = {}


@dataclass(frozen=True)
class Route:
    """Which messages a handler takes."""

    handler: Handler
    direct: bool
    channels: frozenset[str] | None
    types: frozenset[MessageType] | None
    min_rank: int

    def matches(self, message: Message) -> bool:
        """Whether the handler takes ``message``."""
        if self.direct != message.is_direct:
            return False
        if self.channels is not None and message.channel not in self.channels:
            return False
        if self.types is not None and message.type not in self.types:
            return False
        return message.priority.rank >= self.min_rank


class Agent:
    """An agent a Celery worker hosts.

    Args:
        name: The agent's name (its queue is ``<namespace>.agent.<name>``).
        channels: Channels it subscribes to when a worker hosting it starts.
        description: What it does, for listings.

    Raises:
        InvalidName: a name is invalid. ConfigurationError: another agent has the same name.
    """

    def __init__(self, name: str, *, channels: Iterable[str] = (), description: str = "") -> None:
        self.name = check_agent_name(name)
        self.channels = tuple(check_channel_name(channel) for channel in channels)
        self.description = description
        self.routes: list[Route] = []
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
    ) -> Callable[[Handler], Handler]:
        """Register a handler for channel messages: of ``types`` (all if none), on ``channel``
        (any of the agent's channels if ``None``), of at least ``min_priority``."""
        channels = None
        if channel is not None:
            names = [channel] if isinstance(channel, str) else list(channel)
            channels = frozenset(check_channel_name(name) for name in names)
        return self._register(types, min_priority, direct=False, channels=channels)

    def on_direct(
        self, *types: MessageType | str, min_priority: Priority | str = Priority.LOW
    ) -> Callable[[Handler], Handler]:
        """Register a handler for direct messages to this agent."""
        return self._register(types, min_priority, direct=True, channels=None)

    def _register(
        self,
        types: tuple[MessageType | str, ...],
        min_priority: Priority | str,
        *,
        direct: bool,
        channels: frozenset[str] | None,
    ) -> Callable[[Handler], Handler]:
        try:
            kinds = frozenset(MessageType(kind) for kind in types) or None
            rank = Priority(min_priority).rank
        except ValueError as exc:
            raise InvalidArgument(f"invalid handler filter for {self.name!r}: {exc}") from None

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(handler, direct, channels, kinds, rank))
            return handler

        return register

    def handlers_for(self, message: Message) -> list[Handler]:
        """The handlers that take ``message``, in registration order."""
        return [route.handler for route in self.routes if route.matches(message)]


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
            importlib.import_module(module)
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

"""Route received messages to handlers by type and priority.

An agent registers handlers with :meth:`Dispatcher.on` and hands each message it receives to
:meth:`Dispatcher.dispatch` (or :meth:`Dispatcher.adispatch` in asyncio code). Every matching
handler runs, in registration order; one that raises does not stop the others, and the
:class:`DispatchReport` says what ran and what failed, so the caller decides what a failure means.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bus.errors import InvalidArgument
from bus.message import Message, MessageType, Priority

logger = logging.getLogger(__name__)

#: A handler: ``def handle(message) -> Any`` or ``async def handle(message) -> Any``.
Handler = Callable[[Message], Any]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class _Route:
    handler: Handler
    name: str
    #: ``None`` matches every type.
    types: frozenset[MessageType] | None
    min_priority: Priority
    is_async: bool

    def matches(self, message: Message) -> bool:
        return (self.types is None or message.type in self.types) and (
            message.priority.rank >= self.min_priority.rank
        )


@dataclass
class DispatchReport:
    """What happened to one message: which handlers ran, and which of them raised what."""

    #: The message dispatched.
    message: Message
    #: Names of the handlers that ran (failed ones included), in the order they ran.
    ran: list[str] = field(default_factory=list)
    #: ``(handler name, exception)`` of each handler that raised, in the order they ran.
    failed: list[tuple[str, Exception]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no handler raised (also when none matched)."""
        return not self.failed

    @property
    def handled(self) -> bool:
        """True when at least one handler ran."""
        return bool(self.ran)


def _name(handler: Handler) -> str:
    module = getattr(handler, "__module__", None)
    qualname = getattr(handler, "__qualname__", None) or repr(handler)
    return f"{module}.{qualname}" if module else qualname


class Dispatcher:
    """Handlers by message type and minimum priority.

    Example::

        dispatcher = Dispatcher()

        @dispatcher.on(MessageType.QUESTION, min_priority=Priority.HIGH)
        def answer(message: Message) -> None: ...

        report = dispatcher.dispatch(agent.receive())
    """

    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def on(
        self, *types: MessageType | str, min_priority: Priority | str = Priority.LOW
    ) -> Callable[[H], H]:
        """Register the decorated function for messages of ``types`` (every type when none is
        given) whose priority is at least ``min_priority``. The function is returned unchanged.

        Raises:
            InvalidArgument: a type or the priority is not one the bus knows.
        """
        try:
            wanted = frozenset(MessageType(kind) for kind in types) if types else None
        except ValueError:
            known = ", ".join(kind.value for kind in MessageType)
            raise InvalidArgument(
                f"unknown message type among {types!r}; known types: {known}"
            ) from None
        try:
            floor = Priority(min_priority)
        except ValueError:
            known = ", ".join(level.value for level in Priority)
            raise InvalidArgument(
                f"unknown priority {min_priority!r}; known priorities: {known}"
            ) from None

        def register(handler: H) -> H:
            self._routes.append(
                _Route(
                    handler=handler,
                    name=_name(handler),
                    types=wanted,
                    min_priority=floor,
                    is_async=inspect.iscoroutinefunction(handler),
                )
            )
            return handler

        return register

    def handlers_for(self, message: Message) -> list[str]:
        """Names of the handlers ``message`` would run, in the order it would run them."""
        return [route.name for route in self._routes if route.matches(message)]

    def dispatch(self, message: Message) -> DispatchReport:
        """Run every handler matching ``message``, in registration order; an exception in one
        is recorded in the report (and logged) and the next one still runs.

        ``async def`` handlers are run to completion with :func:`asyncio.run`, which needs no
        event loop to be running in this thread.

        Returns:
            The report of the handlers that ran and those that failed.

        Raises:
            InvalidArgument: an ``async def`` handler matches and an event loop is running here
            (use :meth:`adispatch`); nothing has run then.
        """
        routes = [route for route in self._routes if route.matches(message)]
        if any(route.is_async for route in routes) and _loop_running():
            raise InvalidArgument(
                "an async handler matches this message and an event loop is running: "
                "use 'await dispatcher.adispatch(message)' instead of dispatch()"
            )
        report = DispatchReport(message)
        for route in routes:
            report.ran.append(route.name)
            try:
                if route.is_async:
                    asyncio.run(route.handler(message))
                else:
                    route.handler(message)
            except Exception as exc:
                _record(report, route, exc)
        return report

    async def adispatch(self, message: Message) -> DispatchReport:
        """Like :meth:`dispatch`, awaiting ``async def`` handlers one after the other.

        Plain handlers are called on the event loop's thread, so they should be quick; make a
        slow one ``async`` (or have it hand its work to a thread).

        Returns:
            The report of the handlers that ran and those that failed.
        """
        report = DispatchReport(message)
        for route in [route for route in self._routes if route.matches(message)]:
            report.ran.append(route.name)
            try:
                result = route.handler(message)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                _record(report, route, exc)
        return report


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _record(report: DispatchReport, route: _Route, exc: Exception) -> None:
    # The caller gets the exception in the report; the log keeps the traceback for people.
    logger.warning(
        "handler %s failed on message %s: %r", route.name, report.message.id, exc, exc_info=exc
    )
    report.failed.append((route.name, exc))

"""Route messages to handlers by type, priority, channel and directness.

An agent registers handlers with :meth:`Dispatcher.on` and hands each message it receives to
:meth:`Dispatcher.dispatch` (or :meth:`Dispatcher.adispatch` in asyncio code). Every matching
handler runs, in registration order; one that raises does not stop the others, and the
:class:`DispatchReport` says what ran, what each returned and what failed, so the caller decides
what a failure means. Worker-hosted agents (:class:`bus.worker.Agent`) route with a dispatcher
too: it is the one handler loop of bus.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bus.errors import InvalidArgument
from bus.kinds import MessageType, Priority, message_type
from bus.message import Message
from bus.names import check_channel_name
from bus.receipts import RECEIPT_TYPE

logger = logging.getLogger(__name__)

#: A handler: ``handle(message)`` or, with a context, ``handle(message, ctx)``; sync or async.
Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)
#: Runs a sync handler somewhere that may block (a thread), for :meth:`Dispatcher.adispatch`.
RunSync = Callable[[Callable[[], Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    """Which messages a handler takes."""

    handler: Handler
    name: str
    #: ``None`` matches every type (built-in or custom) but receipts
    #: (:data:`~bus.receipts.RECEIPT_TYPE`), which only a route naming them takes.
    types: frozenset[MessageType | str] | None
    min_priority: Priority
    is_async: bool
    #: ``True`` direct messages only, ``False`` channel messages only, ``None`` both.
    direct: bool | None = None
    #: ``None`` matches every channel.
    channels: frozenset[str] | None = None

    def matches(self, message: Message) -> bool:
        """Whether the handler takes ``message``."""
        if self.direct is not None and self.direct != message.is_direct:
            return False
        if self.channels is not None and message.channel not in self.channels:
            return False
        # Every type but receipts, which go to the handlers that name them only.
        typed = message.type != RECEIPT_TYPE if self.types is None else message.type in self.types
        return typed and message.priority.rank >= self.min_priority.rank


@dataclass
class DispatchReport:
    """What happened to one message: which handlers ran, what they returned, what they raised."""

    #: The message dispatched.
    message: Message
    #: Names of the handlers that ran (failed ones included), in the order they ran.
    ran: list[str] = field(default_factory=list)
    #: ``(handler name, exception)`` of each handler that raised, in the order they ran.
    failed: list[tuple[str, BaseException]] = field(default_factory=list)
    #: What each handler that succeeded returned, in the order they ran.
    results: list[Any] = field(default_factory=list)

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


def _types(types: tuple[MessageType | str, ...]) -> frozenset[MessageType | str] | None:
    try:
        return frozenset(message_type(kind) for kind in types) if types else None
    except ValueError as exc:
        raise InvalidArgument(f"invalid message type among {types!r}: {exc}") from None


def _priority(min_priority: Priority | str) -> Priority:
    try:
        return Priority(min_priority)
    except ValueError:
        known = ", ".join(level.value for level in Priority)
        raise InvalidArgument(
            f"unknown priority {min_priority!r}; known priorities: {known}"
        ) from None


class Dispatcher:
    """Handlers by message type, minimum priority, channel and directness.

    Example::

        dispatcher = Dispatcher()

        @dispatcher.on(MessageType.QUESTION, min_priority=Priority.HIGH)
        def answer(message: Message) -> None: ...

        report = dispatcher.dispatch(agent.receive())

    Args:
        ignore_from: An agent whose own channel posts match no handler (the agent this
            dispatcher handles for, when it should not hear itself); direct messages from it
            still match.
    """

    def __init__(self, *, ignore_from: str | None = None) -> None:
        self._routes: list[Route] = []
        self.ignore_from = ignore_from

    def on(
        self,
        *types: MessageType | str,
        min_priority: Priority | str = Priority.LOW,
        channel: str | Iterable[str] | None = None,
        direct: bool | None = None,
    ) -> Callable[[H], H]:
        """Register the decorated function for messages of ``types`` (every type when none is
        given) whose priority is at least ``min_priority``, on ``channel`` (any if ``None``),
        direct only (``direct=True``), channel messages only (``False``) or both (``None``).
        The function is returned unchanged.

        Raises:
            InvalidArgument: a type is neither built in nor a valid custom type name, or the
                priority is not one the bus knows.
            InvalidName: a channel name is invalid.
        """
        wanted, floor = _types(types), _priority(min_priority)
        channels = None
        if channel is not None:
            names = [channel] if isinstance(channel, str) else list(channel)
            channels = frozenset(check_channel_name(name) for name in names)

        def register(handler: H) -> H:
            self._routes.append(
                Route(
                    handler=handler,
                    name=_name(handler),
                    types=wanted,
                    min_priority=floor,
                    is_async=inspect.iscoroutinefunction(handler),
                    direct=direct,
                    channels=channels,
                )
            )
            return handler

        return register

    def routes_for(self, message: Message) -> list[Route]:
        """The routes ``message`` would run, in the order it would run them (none for a
        channel post of :attr:`ignore_from`)."""
        if message.channel is not None and message.sender == self.ignore_from:
            return []
        return [route for route in self._routes if route.matches(message)]

    def handlers_for(self, message: Message) -> list[str]:
        """Names of the handlers ``message`` would run, in the order it would run them."""
        return [route.name for route in self.routes_for(message)]

    def dispatch(self, message: Message, *context: Any) -> DispatchReport:
        """Run every handler matching ``message`` (called with ``message, *context``), in
        registration order; an exception in one is recorded in the report (and logged) and the
        next one still runs. ``async def`` handlers are run with :func:`asyncio.run`.

        Raises:
            InvalidArgument: an ``async def`` handler matches and an event loop is running here
            (use :meth:`adispatch`); nothing has run then.
        """
        routes = self.routes_for(message)
        if any(route.is_async for route in routes) and _loop_running():
            raise InvalidArgument(
                "an async handler matches this message and an event loop is running: "
                "use 'await dispatcher.adispatch(message)' instead of dispatch()"
            )
        report = DispatchReport(message)
        for route in routes:
            report.ran.append(route.name)
            try:
                result = route.handler(message, *context)
                if inspect.isawaitable(result):
                    result = asyncio.run(_awaited(result))
                report.results.append(result)
            except Exception as exc:
                _record(report, route, exc)
        return report

    async def adispatch(
        self,
        message: Message,
        *,
        context: Callable[[Route], Any] | None = None,
        run_sync: RunSync | None = None,
        timeout: float | None = None,
        log_failures: bool = True,
    ) -> DispatchReport:
        """Like :meth:`dispatch`, awaiting ``async def`` handlers one after the other.

        Args:
            context: Makes the second argument of each handler (``None``: handlers take the
                message only); it is given the route, so sync and async handlers can get
                different contexts.
            run_sync: Where plain handlers run; ``None`` calls them on the loop's thread, so
                they should then be quick.
            timeout: Seconds an ``async def`` handler may run before it is cancelled and
                recorded as failed with :class:`TimeoutError` (``None``: no limit).
            log_failures: Log each failure with its traceback (a caller that reports failures
                its own way, as the worker does, turns it off).
        """
        report = DispatchReport(message)
        for route in self.routes_for(message):
            report.ran.append(route.name)
            args = (message,) if context is None else (message, context(route))
            try:
                report.results.append(await _call(route, args, run_sync, timeout))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _record(report, route, exc, log=log_failures)
        return report


async def _call(
    route: Route, args: tuple[Any, ...], run_sync: RunSync | None, timeout: float | None
) -> Any:
    if route.is_async:
        try:
            async with asyncio.timeout(timeout):
                return await route.handler(*args)
        except TimeoutError:
            raise TimeoutError(f"timed out after {timeout:g} s") from None
    if run_sync is None:
        result = route.handler(*args)
    else:
        result = await run_sync(lambda: route.handler(*args))
    if inspect.isawaitable(result):  # a plain function that returned a coroutine
        async with asyncio.timeout(timeout):
            result = await result
    return result


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _record(report: DispatchReport, route: Route, exc: BaseException, log: bool = True) -> None:
    # The caller gets the exception in the report; the log keeps the traceback for people.
    if log:
        logger.warning(
            "handler %s failed on message %s: %r", route.name, report.message.id, exc, exc_info=exc
        )
    report.failed.append((route.name, exc))

"""Running an agent's handlers for one message: the contexts they are given, the thread pool
of plain (sync) handlers, the process and invoke spans, and what failed, as one text.

:class:`Handling` is one per worker process, made by :class:`~bus.worker.runtime.Runtime`,
which hands :meth:`Handling.handle` to the runs (:class:`~bus.worker.run_calls.RunCalls`) and
uses it to replay a dead letter. It runs on the process's event loop; a plain handler runs on
one of its threads, an ``async def`` one on the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from bus import tracing
from bus.aio import AsyncBus
from bus.core import Bus
from bus.dispatch import DispatchReport, Route
from bus.message import Message
from bus.worker.agent import Agent
from bus.worker.context import AgentState, AsyncHandlerContext, HandlerContext
from bus.worker.outcomes import HandlerError

logger = logging.getLogger("bus.delivery")


class Handling:
    """The handlers of a worker process's agents, run for one message at a time per call.

    Args:
        bus: The process's bus (the handlers' contexts bind it to their agent).
        states: Each hosted agent's state (``ctx.state``), by name.
        io: ``await io(function, *args)``: a blocking call on the runtime's I/O threads (a
            reply to a request is published through it).
        io_threads: Those threads, for the async contexts' bound buses.
    """

    def __init__(
        self,
        bus: Bus,
        states: Mapping[str, AgentState],
        io: Callable[..., Awaitable[Any]],
        io_threads: ThreadPoolExecutor,
    ) -> None:
        self.bus = bus
        self.settings = bus.settings
        self.states = states
        self._io = io
        self._io_threads = io_threads
        self._sync = ThreadPoolExecutor(
            self.settings.sync_handler_threads, thread_name_prefix="bus-handler"
        )

    def shutdown(self) -> None:
        """Stop the plain handlers' threads (a handler still running ends on its own)."""
        self._sync.shutdown(wait=False, cancel_futures=True)

    async def handle(
        self,
        agent: Agent,
        message: Message,
        attempt: int,
        task_id: str | None,
        skipped: int = 0,
    ) -> str | None:
        """Run every handler of ``agent`` that takes ``message`` (its dispatcher); one failing
        does not stop the others. A handler that returns a string answers a request with it.
        ``skipped``: messages retention trimmed just before this one.

        Returns:
            ``None`` if every handler succeeded, else what failed (each handler and why).
        """
        context = HandlerContext(
            self.bus, agent.name, message, task_id=task_id, attempt=attempt,
            state=self.states[agent.name], skipped=skipped,
        )  # fmt: skip
        # The async ctx drives the same bound bus (typed as the Bus it stands in for).
        bound = AsyncBus(cast(Bus, context.bus), executor=self._io_threads)
        async_context = AsyncHandlerContext(bound, context)
        with tracing.handling(message):
            if not tracing.active():
                report = await self._dispatch(agent, message, context, async_context)
            else:
                with tracing.processing(agent.name, message, attempt, context.cause) as spans:
                    report = await self._dispatch(agent, message, context, async_context)
                    if not report.ok:
                        spans.failed(report.failed)
        if report.ok:
            return None
        for name, exc in report.failed:  # the run logs the outcome; this is for debugging
            logger.info(
                "%s's handler %s raised on #%s", agent.name, name, message.seq, exc_info=exc
            )
        text = "; ".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in report.failed)
        return HandlerError(text, report.failed[0][1])

    async def _dispatch(
        self,
        agent: Agent,
        message: Message,
        context: HandlerContext,
        async_context: AsyncHandlerContext,
    ) -> DispatchReport:
        """Run the agent's handlers of ``message``; a returned string answers a request."""

        def context_for(route: Route) -> HandlerContext | AsyncHandlerContext:
            return async_context if route.is_async else context

        report = await agent.dispatcher.adispatch(
            message,
            context=context_for,
            run_sync=self._run_sync,
            timeout=agent.timeout or self.settings.handler_timeout,
            log_failures=False,
        )
        for result in report.results:
            if isinstance(result, str) and message.is_direct and message.correlation_id:
                await self._io(context.reply, result)
        return report

    async def _run_sync(self, call: Callable[[], Any]) -> Any:
        # A thread cannot be stopped from outside: a plain handler runs to its end, and its
        # stream waits for it (running the next message beside it would break the order).
        loop = asyncio.get_running_loop()
        in_context = functools.partial(contextvars.copy_context().run, call)
        return await asyncio.shield(loop.run_in_executor(self._sync, in_context))

"""One long-lived asyncio event loop per worker process, on a thread of its own.

Every ``async def`` handler of the process runs on it, so a client bound to a loop (an
``httpx.AsyncClient``, an OpenAI or Anthropic async client, an aiohttp session, an asyncpg
pool) opened by a startup hook works on every message. It is made on first use in the process
that uses it: after the fork, in a prefork child.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bus.access.speaking import unspoken

logger = logging.getLogger(__name__)

T = TypeVar("T")


class EventLoopThread:
    """An event loop running forever on a daemon thread until :meth:`stop`."""

    def __init__(self, name: str = "bus-agents-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        # Let whatever was cancelled on the way out finish its cleanup.
        pending = asyncio.all_tasks(self.loop)
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    @property
    def running(self) -> bool:
        """Whether the loop still runs."""
        return self._thread.is_alive() and not self.loop.is_closed()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coroutine`` on the loop from any thread; its result as a future."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and wait for its result (from another thread)."""
        return self.submit(coroutine).result(timeout)

    def call_soon(self, function: Callable[..., Any], *args: Any) -> None:
        """Call ``function(*args)`` on the loop's thread, soon, in the caller's context but
        speaking for nobody: what a handler's publish starts (another agent's run) is not the
        handler's call (:mod:`bus.access.speaking`)."""
        self.loop.call_soon_threadsafe(function, *args, context=unspoken())

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and join its thread (tasks still pending get cancelled)."""
        if self.loop.is_closed():
            return

        def cancel_and_stop() -> None:
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.stop()

        self.loop.call_soon_threadsafe(cancel_and_stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("the agents' event loop did not stop within %s s", timeout)

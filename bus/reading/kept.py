"""Messages claimed by asyncio receives that were cancelled: the agent's next ones.

:meth:`bus.aio.AsyncBus.receive` waits on a thread; cancelling the wait (``asyncio.wait_for``, a
task group ending) cannot stop the thread, which may still claim a message. That message is kept
here and handed over first by the agent's next receive, so nothing is lost and each stream keeps
its order.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections import deque
from concurrent.futures import Future

from bus.message import Message


class KeptMessages:
    """Per agent: receives still running after their caller gave up, and what they claimed."""

    def __init__(self) -> None:
        self._kept: dict[str, deque[Message]] = {}
        self._orphans: dict[str, set[Future[Message | None]]] = {}
        self._lock = threading.Lock()

    def orphan(self, agent: str, future: Future[Message | None]) -> None:
        """Keep what the receive behind ``future`` claims, once it ends."""
        with self._lock:
            self._orphans.setdefault(agent, set()).add(future)
        future.add_done_callback(functools.partial(self._keep, agent))

    def _keep(self, agent: str, future: Future[Message | None]) -> None:
        # Runs on the worker thread as the orphaned receive ends, before anyone awaiting it wakes.
        message = None if future.cancelled() or future.exception() else future.result()
        with self._lock:
            self._orphans.get(agent, set()).discard(future)
            if message is not None:
                self._kept.setdefault(agent, deque()).append(message)

    async def settle(self, agent: str) -> None:
        """Wait for the agent's orphaned receives to end, so what they claimed is returned
        before anything claimed after it (one order per stream)."""
        with self._lock:
            orphans = list(self._orphans.get(agent, ()))
        if orphans:
            await asyncio.gather(
                *(asyncio.wrap_future(future) for future in orphans), return_exceptions=True
            )

    def take(self, agent: str, channel: str | None) -> Message | None:
        """The oldest kept message of ``agent`` (of ``channel`` only, if given), or ``None``."""
        with self._lock:
            kept = self._kept.get(agent, deque())
            for message in kept:
                if channel is None or message.channel == channel:
                    kept.remove(message)
                    return message
        return None

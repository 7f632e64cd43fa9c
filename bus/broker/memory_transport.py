"""kombu's memory transport, woken instead of polled: a put wakes the consumers of its queue.

kombu's virtual transports poll: a consumer finding its queues empty sleeps
``polling_interval`` (``BUS_POLLING_INTERVAL``) and looks again, so on ``memory://`` every
delivery waited half an interval on average, and an idle consumer woke 200 times a second. Here a
put (direct, fanout or a requeue) calls the waiters of its queue (:data:`WAKEUPS`): a consumer
waiting in :meth:`WokenTransport.drain_events` wakes at once, and so does an asyncio receive waiting
on its loop (:meth:`Wakeups.watch` with a ``call_soon_threadsafe`` callback). Everything else
is kombu's memory transport, process-global state included (Celery and plain kombu consumers of
``memory://`` in the process see the same queues).

Nothing crosses a process here, so message bodies are not base64-encoded either (kombu's
virtual transports encode them for servers that only store text).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import memory as kombu_memory

__all__ = ["TRANSPORT", "WAKEUPS", "Wakeups", "WokenChannel", "WokenTransport"]


class Wakeups:
    """Who waits for a put on which queue of the process's memory transport."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, dict[int, Callable[[], object]]] = {}
        self._next = 0

    def watch(self, queues: Iterable[str], wake: Callable[[], object]) -> Callable[[], None]:
        """Call ``wake()`` (from the putting thread; it must be quick and must not raise) on
        each put to one of ``queues`` until the returned function is called."""
        names = list(queues)
        with self._lock:
            key = self._next = self._next + 1
            for name in names:
                self._waiters.setdefault(name, {})[key] = wake

        def unwatch() -> None:
            with self._lock:
                for name in names:
                    waiting = self._waiters.get(name)
                    if waiting is not None:
                        waiting.pop(key, None)
                        if not waiting:
                            del self._waiters[name]

        return unwatch

    def notify(self, queue: str) -> None:
        """A message was put on ``queue``: wake its waiters."""
        waiting = self._waiters.get(queue)  # a dict read: no lock needed to find none
        if not waiting:
            return
        with self._lock:
            wakes = list(waiting.values())
        for wake in wakes:
            wake()


#: The process's waiters (the memory transport's state is process-global: so are they).
WAKEUPS = Wakeups()


class WokenChannel(kombu_memory.Channel):  # type: ignore[misc]
    """kombu's memory channel whose puts wake their queue's waiters."""

    body_encoding = None  # no base64: the body never leaves the process

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        self._queue_for(queue).put(message)
        WAKEUPS.notify(queue)

    def put_prepared(self, queue: str, message: dict[str, Any]) -> None:
        """Put ``message`` (a message dict as :meth:`basic_publish` would queue it: see
        :mod:`bus.broker.fanout`) on ``queue`` and wake its waiters."""
        self._put(queue, message)

    def _put_fanout(self, exchange: str, message: Any, routing_key: str, **kwargs: Any) -> None:
        for queue in self._lookup(exchange, routing_key):
            self._put(queue, message)

    def consumed(self) -> list[str]:
        """The queues this channel consumes from."""
        return list(self._active_queues)

    def holds_any(self) -> bool:
        """Whether a queue this channel consumes from holds a message."""
        return any(self._size(queue) for queue in self._active_queues)

    def starved(self) -> bool:
        """Whether the channel consumes but its prefetch is full (only an ack frees it)."""
        return bool(self._consumers) and not self.qos.can_consume()


class WokenTransport(kombu_memory.Transport):  # type: ignore[misc]
    """kombu's memory transport with :class:`WokenChannel`: puts wake waiting consumers."""

    Channel = WokenChannel

    def consumed_queues(self) -> list[str]:
        """The queues this connection's channels consume from."""
        return [queue for channel in self.channels for queue in channel.consumed()]

    def pending(self) -> bool:
        """Whether a consumed queue holds a message."""
        return any(channel.holds_any() for channel in self.channels)

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:
        """Deliver one message, waiting up to ``timeout`` seconds (``None``: forever) for a put
        to a consumed queue. While a channel's prefetch is full, an acknowledgement (no put)
        frees it: then it looks again every ``polling_interval``, as kombu's transport does."""
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                pass
            woken = threading.Event()
            unwatch = WAKEUPS.watch(self.consumed_queues(), woken.set)
            try:
                try:  # again, watched: a put since the first look is not missed
                    self.cycle.get(self._deliver, timeout=timeout)
                    return
                except Empty:
                    pass
                left = None if deadline is None else deadline - monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError()
                starved = any(channel.starved() for channel in self.channels)
                if starved and self.polling_interval is not None:
                    poll = self.polling_interval
                    left = poll if left is None else min(left, poll)
                woken.wait(left)
            finally:
                unwatch()


#: What Celery's ``broker_transport`` names for ``memory://`` brokers.
TRANSPORT = f"{__name__}:WokenTransport"

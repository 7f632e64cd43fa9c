"""An agent's inbox: the consumer behind :meth:`bus.Bus.receive`.

Deliveries wake the inbox up; what it hands over comes from the store's log through
:meth:`~bus.store.base.Store.claim`, which gives each agent each message once, in sequence
order, whatever order (or how many times) the broker delivered them in.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from kombu import Connection, Consumer, Queue
from kombu.message import Message as KombuMessage

logger = logging.getLogger(__name__)


class Inbox:
    """A consumer on one agent's queue, buffering what the broker pushes.

    Not thread-safe by itself: callers hold :attr:`lock` around :meth:`next` and the claims that
    follow, so one receive at a time runs per agent and process.
    """

    def __init__(self, connection: Connection, queue: Queue, prefetch_count: int) -> None:
        self.lock = threading.Lock()
        #: Streams known to hold more for this agent than it has claimed: stream -> newest seq.
        self.behind: dict[str, int] = {}
        #: Streams whose log was read dry by this inbox (``None``: all the agent's streams).
        #: Until then a receive claims from the log before waiting: the deliveries of what is
        #: pending may never come (a consumer of the agent died holding them, and Redis hides
        #: unacknowledged deliveries for an hour).
        self.caught_up: set[str | None] = set()
        #: The newest seq this inbox handed over, per stream: deliveries at or below it are
        #: stale and dropped without asking the store.
        self.handed: dict[str, int] = {}
        self._connection = connection
        self._buffer: deque[tuple[Any, KombuMessage]] = deque()
        self._consumer = Consumer(
            connection.channel(),
            queues=[queue],
            callbacks=[self._on_message],
            accept=["json"],
            prefetch_count=prefetch_count,
        )
        self._consumer.consume()

    def _on_message(self, body: Any, message: KombuMessage) -> None:
        self._buffer.append((body, message))

    def next(self, timeout: float | None) -> tuple[Any, KombuMessage] | None:
        """The next buffered delivery, waiting up to ``timeout`` seconds (``None``: forever)."""
        if not self._buffer:
            try:
                self._connection.drain_events(timeout=timeout)
            except TimeoutError:
                return None
        return self._buffer.popleft() if self._buffer else None

    def put_back(self, item: tuple[Any, KombuMessage]) -> None:
        """Return a delivery taken with :meth:`next` to the front of the buffer."""
        self._buffer.appendleft(item)

    def close(self) -> None:
        """Stop consuming; unacknowledged deliveries go back to the queue."""
        try:
            self._consumer.cancel()
            self._consumer.channel.close()
        except Exception:  # the connection may already be gone; nothing is lost either way
            logger.debug("closing inbox consumer failed", exc_info=True)
        finally:
            self._connection.release()

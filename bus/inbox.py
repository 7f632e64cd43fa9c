"""An agent's inbox: the consumer behind :meth:`bus.Bus.receive`.

Deliveries wake the inbox up; what it hands over comes from the store's log through
:meth:`~bus.store.base.Store.claim`, which gives each agent each message once, in sequence
order, whatever order (or how many times) the broker delivered them in.
"""

from __future__ import annotations

import logging
import socket
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
            except socket.timeout:
                return None
        return self._buffer.popleft() if self._buffer else None

    def close(self) -> None:
        """Stop consuming; unacknowledged deliveries go back to the queue."""
        try:
            self._consumer.cancel()
            self._consumer.channel.close()
        except Exception:  # the connection may already be gone; nothing is lost either way
            logger.debug("closing inbox consumer failed", exc_info=True)
        finally:
            self._connection.release()

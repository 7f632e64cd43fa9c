"""Pull receive: an agent's inbox, the consumer behind :meth:`bus.Bus.receive`.

Deliveries wake the inbox up; the store's log decides what it hands over. The broker may hand
deliveries over out of order (two publishers racing, prefetch) or twice (Redis puts a message
whose consumer died at the back of the queue; RabbitMQ requeues it), so a delivery is only a
signal that its stream has something at ``seq``: the message handed over is always the one
:meth:`~bus.store.LogStore.claim` returns, the next after the agent's position. A delivery at
or below what was handed over is acknowledged and dropped. Claims straight from the log (for
deliveries that never came) are :mod:`bus.reading.log_claims`'s.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from time import monotonic
from typing import Any

from kombu import Connection, Consumer, Queue
from kombu.message import Message as KombuMessage

from bus.broker.failures import broker_errors
from bus.broker.wire import Delivery, parse_delivery
from bus.errors import BrokerUnavailable, MessageDecodeError
from bus.reading.held import Held
from bus.reading.log_claims import LogClaims
from bus.reading.receipt_drafts import ReceiptDrafts
from bus.store import Entry, Store

logger = logging.getLogger(__name__)

#: Longest single wait on the broker (seconds): between two, a receive looks for messages whose
#: deliveries never came, and notices that the bus is stopping.
WAIT_SLICE = 1.0
#: How long a receive that handed a message over from the log looks for an arrived delivery
#: to retire (seconds): just long enough to read what the broker already pushed.
RETIRE_WAIT = 0.001

Item = tuple[Any, KombuMessage]


class Inbox:
    """A consumer on one agent's queue, and what it knows of the agent's streams.

    One receive at a time runs per agent and process: :meth:`receive` holds :attr:`lock`.
    """

    def __init__(
        self,
        connection: Connection,
        queue: Queue,
        prefetch_count: int,
        agent: str,
        *,
        batch: int = 1,
        lease_seconds: float = 30.0,
        coalesced: bool = False,
        retire_wait: float = RETIRE_WAIT,
        receipts: ReceiptDrafts | None = None,
    ) -> None:
        self.lock = threading.Lock()
        self.agent = agent
        #: Batches held for the agent, and what was handed over (see :mod:`bus.reading.held`);
        #: ``receipts`` drafts the receipts its hand-overs push.
        self._held = Held(agent, batch, lease_seconds, receipts)
        #: The store of the last receive: :meth:`close` settles the batches with it.
        self._store: Store | None = None
        #: Coalesced deliveries: one wakes the agent per burst (see :mod:`bus.reading.log_claims`).
        self._coalesced = coalesced
        #: Streams known to be behind or read dry, and claims from the log by them.
        self._claims = LogClaims(self._held, coalesced)
        self._connection = connection
        #: How long a message handed over from the log waits for its delivery to retire (0 on
        #: an in-process broker: a delivery not there yet is dropped as stale when it comes).
        self._retire_wait = retire_wait
        self._buffer: deque[Item] = deque()
        #: Whether the broker connection failed: :class:`Inboxes` opens a new inbox instead.
        self.broken = False
        try:
            with broker_errors(connection, "consume from"):
                self._consumer = Consumer(
                    connection.channel(),
                    queues=[queue],
                    callbacks=[self._on_message],
                    accept=["json"],
                    prefetch_count=prefetch_count,
                    on_decode_error=self._set_aside,
                )
                self._consumer.consume()
        except BaseException:
            connection.release()
            raise

    @property
    def connection(self) -> Connection:
        """The broker connection the inbox consumes on (an asyncio receive waits on it)."""
        return self._connection

    # -- the broker side -----------------------------------------------------------------------

    def _on_message(self, body: Any, message: KombuMessage) -> None:
        self._buffer.append((body, message))

    def _set_aside(self, message: KombuMessage, exc: Exception) -> None:
        """A message kombu cannot decode (pickle, another content type, bad bytes) is no bus
        delivery: nothing was claimed for it, so acknowledging it (with the reason logged)
        loses no bus message and keeps it from blocking the queue."""
        logger.warning(
            "setting aside a foreign message in %s's queue (content type %r, %d bytes): %s",
            self.agent,
            message.content_type,
            len(message.body or b""),
            exc,
        )
        self._ack(message)

    def next(self, timeout: float | None) -> Item | None:
        """The next buffered delivery, waiting up to ``timeout`` seconds (``None``: forever)."""
        if not self._buffer:
            with self._broker("receive from"):
                try:
                    self._connection.drain_events(timeout=timeout)
                except TimeoutError:  # an OSError too: caught first, it is no failure
                    return None
        return self._buffer.popleft() if self._buffer else None

    @contextmanager
    def _broker(self, doing: str) -> Iterator[None]:
        """Broker failures in the block are :class:`BrokerUnavailable`, and break the inbox."""
        try:
            with broker_errors(self._connection, doing):
                yield
        except BrokerUnavailable:
            self.broken = True
            raise

    def _ack(self, message: KombuMessage) -> None:
        with self._broker("acknowledge to"):
            message.ack()

    def _delivery(self, item: Item) -> Delivery | None:
        """The delivery in ``item``, or ``None`` (acknowledged) if it is none or is stale."""
        payload, message = item
        try:
            delivery = parse_delivery(message.headers, payload)
        except MessageDecodeError as exc:
            logger.warning(
                "dropping a message that is not a bus delivery from %s's queue: %s",
                self.agent,
                exc,
            )
            self._ack(message)
            return None
        if self._held.stale(delivery.stream, delivery.seq):
            self._ack(message)  # handed over or held already: no store call needed
            return None
        return delivery

    def close(self) -> None:
        """Commit what was handed over and give held batches back; stop consuming
        (unacknowledged deliveries go back to the queue)."""
        if self._store is not None:
            try:
                self._held.settle(self._store)
            except Exception:  # the store may be gone: the leases lapse, nothing is lost
                logger.debug("settling %s's batches failed", self.agent, exc_info=True)
        try:
            self._consumer.cancel()
            self._consumer.channel.close()
        except Exception:  # the connection may already be gone; nothing is lost either way
            logger.debug("closing inbox consumer failed", exc_info=True)
        finally:
            self._connection.release()

    # -- the log side --------------------------------------------------------------------------

    def forget(self) -> None:
        """Drop what this inbox knows of the agent's streams (the store lost it: seqs restart)."""
        self._claims.forget()
        self._held.forget()

    def _retire_one(self, wait: float) -> None:
        """Keep the queue in step with the log: a message handed over from the log retires one
        delivery that has already arrived, if it is stale, so deliveries never pile up. (With
        coalesced deliveries there is one per burst, not one per message: only one already
        buffered is looked at, with no wait on the broker.)"""
        if self._coalesced and not self._buffer:
            return
        item = self.next(wait)
        if item is None:
            return
        payload, message = item
        try:
            delivery = parse_delivery(message.headers, payload)
        except MessageDecodeError:
            self._ack(message)
            return
        if self._held.stale(delivery.stream, delivery.seq):
            self._ack(message)
        else:
            self._buffer.appendleft(item)

    def _take(self, store: Store, item: Item, stream: str | None) -> Entry | None:
        """Hand over what a delivery signals: the next message of its stream, from the log."""
        delivery = self._delivery(item)
        if delivery is None:
            return None
        message = item[1]
        if stream is not None and delivery.stream != stream:
            self._claims.mark_behind(delivery.stream, delivery.seq)
            self._ack(message)
            return None
        fresh = self._held.take(store, delivery.stream)
        # Claimed: from here on nothing may keep it from the caller. A failed ack only breaks
        # the inbox (the broker requeues the delivery, which is stale by then).
        with suppress(BrokerUnavailable):
            self._ack(message)
        if fresh is None:
            return None  # handed over already (by another consumer), or the agent left
        self._claims.note_taken(delivery.stream, delivery.seq)
        return fresh

    def receive(
        self,
        store: Store,
        stream: str | None,
        timeout: float | None,
        stopping: Callable[[], bool],
    ) -> Entry | None:
        """The agent's next message (from ``stream`` only, if given), or ``None`` once
        ``timeout`` seconds passed or ``stopping()`` is true."""
        with self.lock:
            claimed = self._at_hand(store, stream, self._retire_wait)
            if claimed is not None:
                return claimed
            deadline = None if timeout is None else monotonic() + timeout
            while not stopping():
                remaining = None if deadline is None else max(0.0, deadline - monotonic())
                wait = WAIT_SLICE if remaining is None else min(remaining, WAIT_SLICE)
                if self._held.unsettled and not self._buffer:
                    self._held.settle(store)  # about to wait: commit, let go of the leases
                item = self.next(wait)
                if item is not None:
                    taken = self._take(store, item, stream)
                    if taken is not None:
                        return taken
                    continue
                # Nothing came for a while: claim what the log holds whose delivery never came.
                claimed = self._claims.claim_missed(store, stream)
                if claimed is not None:
                    return claimed
                if remaining is not None and remaining <= wait:
                    return None
            return None

    def receive_now(self, store: Store, stream: str | None, *, missed: bool) -> Entry | None:
        """What is at hand, without waiting on the broker: the next message of the log or of an
        arrived delivery (``missed``: and, as a receive does after a wait that brought nothing,
        one whose delivery never came). ``None`` also if another thread is receiving for the
        agent. :meth:`bus.AsyncBus.receive` calls it on its loop and waits there in between
        (on :attr:`connection`), so a cancelled wait has claimed nothing."""
        if not self.lock.acquire(blocking=False):
            return None
        try:
            claimed = self._at_hand(store, stream, 0.0)
            while claimed is None:
                item = self.next(0)
                if item is None:
                    break
                claimed = self._take(store, item, stream)
            if claimed is None and missed:
                claimed = self._claims.claim_missed(store, stream)
            if claimed is None and self._held.unsettled and not self._buffer:
                self._held.settle(store)  # about to wait: commit, let go of the leases
            return claimed
        finally:
            self.lock.release()

    def _at_hand(self, store: Store, stream: str | None, retire_wait: float) -> Entry | None:
        """A message claimed from the log (held, behind, or not yet caught up), its arrived
        delivery retired; the lock held."""
        self._store = store
        claimed = self._claims.from_log(store, stream)
        if claimed is not None:
            with suppress(BrokerUnavailable):  # claimed: the caller gets it whatever happens
                self._retire_one(retire_wait)
        return claimed

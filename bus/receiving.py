"""Pull receive: deliveries wake an agent up; the store's log decides what it gets.

The broker may hand deliveries over out of order (two publishers racing, prefetch) or twice
(Redis puts a message whose consumer died at the back of the queue; RabbitMQ requeues it). So a
delivery is only a signal that its stream has something at ``seq``: the message handed over is
always the one :meth:`~bus.store.base.Store.claim` returns, the next after the agent's
position. A delivery at or below the position is acknowledged and dropped.
"""

from __future__ import annotations

import logging
import threading
from time import monotonic

from bus.errors import MessageDecodeError
from bus.inbox import Inbox
from bus.store.base import Store
from bus.wire import parse_delivery

logger = logging.getLogger(__name__)

#: Longest single wait on the broker (seconds): between two, a receive looks for messages whose
#: deliveries never came, and notices that the bus is stopping.
WAIT_SLICE = 1.0
#: How long a receive that handed a message over from the log looks for an arrived delivery
#: to retire (seconds): just long enough to read what the broker already pushed.
RETIRE_WAIT = 0.001


def seq_of(body: str) -> int:
    """The seq of a stored message, which the store writes first (``{"seq":12,...``)."""
    return int(body[7 : body.index(",", 7)])


def _hand(inbox: Inbox, stream: str, body: str) -> str:
    """Record that ``body`` of ``stream`` is handed over, and hand it over."""
    seq = seq_of(body)
    if seq > inbox.handed.get(stream, 0):
        inbox.handed[stream] = seq
    return body


def _from_log(store: Store, inbox: Inbox, agent: str, stream: str | None) -> tuple[str, str] | None:
    """Claim straight from the log: first from streams this inbox knows to be behind, then,
    until the log was once read dry, from any stream (the deliveries of what is pending may
    never come: a consumer of the agent died holding them, and Redis hides unacknowledged
    deliveries for the visibility timeout)."""
    for known, newest in list(inbox.behind.items()):
        if stream is not None and known != stream:
            continue
        body = store.claim(agent, known)
        if body is None or seq_of(body) >= newest:
            del inbox.behind[known]
        if body is not None:
            return known, body
    if None in inbox.caught_up or stream in inbox.caught_up:
        return None
    claimed = _claim(store, agent, stream)
    if claimed is None:
        inbox.caught_up.add(stream)
    return claimed


def _claim(store: Store, agent: str, stream: str | None) -> tuple[str, str] | None:
    if stream is None:
        return store.claim_any(agent)
    body = store.claim(agent, stream)
    return None if body is None else (stream, body)


def _retire_one(inbox: Inbox) -> None:
    """Keep the queue in step with the log: a message handed over from the log retires one
    delivery that has already arrived, if it is stale, so deliveries never pile up."""
    item = inbox.next(RETIRE_WAIT)
    if item is None:
        return
    payload, message = item
    try:
        delivery = parse_delivery(message.headers, payload)
    except MessageDecodeError:
        message.ack()
        return
    if delivery.seq <= inbox.handed.get(delivery.stream, 0):
        message.ack()
    else:
        inbox.put_back(item)


# Over ruff's complexity limit (11 > 10): refactored in issue 8, when the inbox takes this loop.
def receive_next(  # noqa: C901
    store: Store,
    inbox: Inbox,
    agent: str,
    stream: str | None,
    timeout: float | None,
    stopping: threading.Event,
) -> str | None:
    """The JSON of the agent's next message (from ``stream`` only, if given), or ``None`` once
    ``timeout`` seconds passed or ``stopping`` is set. The caller holds ``inbox.lock``."""
    claimed = _from_log(store, inbox, agent, stream)
    if claimed is not None:
        body = _hand(inbox, *claimed)
        _retire_one(inbox)
        return body
    deadline = None if timeout is None else monotonic() + timeout
    while not stopping.is_set():
        remaining = None if deadline is None else max(0.0, deadline - monotonic())
        wait = WAIT_SLICE if remaining is None else min(remaining, WAIT_SLICE)
        item = inbox.next(wait)
        if item is None:
            # Nothing came for a while. The log may still hold messages whose deliveries never
            # arrived (a publisher died between append and publish, or a filtered receive
            # dropped them): claim those before waiting on.
            claimed = _claim(store, agent, stream)
            if claimed is not None:
                inbox.caught_up.difference_update((None, stream))  # more may be pending
                return _hand(inbox, *claimed)
            if remaining is not None and remaining <= wait:
                return None
            continue
        payload, message = item
        try:
            delivery = parse_delivery(message.headers, payload)
        except MessageDecodeError as exc:
            logger.warning(
                "dropping a message that is not a bus delivery from %s's queue: %s", agent, exc
            )
            message.ack()
            continue
        if delivery.seq <= inbox.handed.get(delivery.stream, 0):
            message.ack()  # handed over already: no store call needed
            continue
        if stream is not None and delivery.stream != stream:
            inbox.behind[delivery.stream] = max(inbox.behind.get(delivery.stream, 0), delivery.seq)
            message.ack()
            continue
        fresh = store.claim(agent, delivery.stream)
        message.ack()
        if fresh is None:
            continue  # handed over already (by another consumer), or the agent left
        if seq_of(fresh) < delivery.seq:
            inbox.behind[delivery.stream] = max(inbox.behind.get(delivery.stream, 0), delivery.seq)
        return _hand(inbox, delivery.stream, fresh)
    return None

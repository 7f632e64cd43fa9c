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


def seq_of(body: str) -> int:
    """The seq of a stored message, which the store writes first (``{"seq":12,...``)."""
    return int(body[7 : body.index(",", 7)])


def _claim_behind(store: Store, inbox: Inbox, agent: str, stream: str | None) -> str | None:
    """Claim from a stream this inbox already knows to be behind."""
    for known, newest in list(inbox.behind.items()):
        if stream is not None and known != stream:
            continue
        body = store.claim(agent, known)
        if body is None or seq_of(body) >= newest:
            del inbox.behind[known]
        if body is not None:
            return body
    return None


def receive_next(
    store: Store,
    inbox: Inbox,
    agent: str,
    stream: str | None,
    timeout: float | None,
    stopping: threading.Event,
) -> str | None:
    """The JSON of the agent's next message (from ``stream`` only, if given), or ``None`` once
    ``timeout`` seconds passed or ``stopping`` is set. The caller holds ``inbox.lock``."""
    body = _claim_behind(store, inbox, agent, stream)
    if body is not None:
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
            body = store.claim_any(agent) if stream is None else store.claim(agent, stream)
            if body is not None or (remaining is not None and remaining <= wait):
                return body
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
        if stream is not None and delivery.stream != stream:
            inbox.behind[delivery.stream] = max(inbox.behind.get(delivery.stream, 0), delivery.seq)
            message.ack()
            continue
        body = store.claim(agent, delivery.stream)
        message.ack()
        if body is None:
            continue  # handed over already, or the agent left the channel
        if seq_of(body) < delivery.seq:
            inbox.behind[delivery.stream] = max(inbox.behind.get(delivery.stream, 0), delivery.seq)
        return body
    return None

"""Waiting for a consumer's broker connection on an asyncio event loop, without a thread.

:meth:`bus.AsyncBus.receive` takes what is there with short non-blocking calls and waits here, on
the loop, for the connection to have something new: nothing is read while waiting, so a wait
that is cancelled has taken nothing. How a connection says "something arrived":

- ``memory://`` (:mod:`bus.broker.memory_transport`): a put to one of its consumed queues calls
  the loop back (``call_soon_threadsafe``);
- RabbitMQ (py-amqp): its socket becomes readable;
- Redis (kombu's transport): the socket of the ``BRPOP`` kombu keeps in flight for the
  consumer becomes readable (a ``drain_events(timeout=0)`` sends it: the caller's non-blocking
  look does so before it waits).

The loop watches file descriptors level-triggered, so data that came before the wait began
wakes it at once; for memory://, :meth:`~bus.broker.memory_transport.WokenTransport.pending` is
asked after the watch is set, for the same reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

from kombu import Connection

from bus.broker import memory_transport

__all__ = ["wait_for_delivery"]


def _settle(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


def _descriptors(connection: Connection) -> list[Any]:
    """The sockets a kombu connection's deliveries arrive on (empty: none known, wait out)."""
    cycle = getattr(connection.transport, "cycle", None)
    fds = getattr(cycle, "fds", None)  # kombu's Redis transport: its BRPOP and LISTEN sockets
    if isinstance(fds, dict):
        return list(fds)
    sock = getattr(connection.connection, "sock", None)  # py-amqp
    return [] if sock is None else [sock]


def _pending_tls(sockets: list[Any]) -> bool:
    """Whether a TLS socket holds decrypted bytes the kernel no longer reports as readable."""
    return any(getattr(sock, "pending", lambda: 0)() for sock in sockets if hasattr(sock, "fileno"))


async def wait_for_delivery(
    connection: Connection, woken: asyncio.Future[bool], timeout: float
) -> bool:
    """Wait on the running loop until ``connection`` may have a delivery to read, ``woken`` is
    settled by someone else, or ``timeout`` seconds pass; ``True`` unless the time ran out.

    ``woken`` is the caller's: settling it (``True``) ends the wait early, e.g. as the bus stops.
    """
    loop = asyncio.get_running_loop()
    wake = partial(_settle, woken, True)
    undo: list[Callable[[], object]] = []
    try:
        transport = connection.transport
        if isinstance(transport, memory_transport.WokenTransport):
            fired = False

            def from_put() -> None:  # in the putting thread: one wake-up of the loop is enough
                nonlocal fired
                if not fired:
                    fired = True
                    loop.call_soon_threadsafe(wake)

            undo.append(memory_transport.WAKEUPS.watch(transport.consumed_queues(), from_put))
            if transport.pending():
                wake()
        else:
            sockets = _descriptors(connection)
            for sock in sockets:
                loop.add_reader(sock, wake)
                undo.append(partial(loop.remove_reader, sock))
            if _pending_tls(sockets):
                wake()
        timer = loop.call_later(timeout, _settle, woken, False)
        undo.append(timer.cancel)
        return await woken
    finally:
        for step in reversed(undo):
            step()

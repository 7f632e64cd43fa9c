"""The bus for asyncio code: every :class:`~bus.Bus` operation as a coroutine.

The operations are derived from their declaration in :mod:`bus.api` (``publish =
awaited(BusOperations.publish)``): same parameters, same documentation, awaited. Only what
differs in asyncio is written here: starting and stopping (the thread pool), receiving
(native, cancellable), and the agent clients this bus hands out.

Kombu and the Redis client are synchronous, so each call but :meth:`AsyncBus.receive` runs on a
thread of a pool the :class:`AsyncBus` owns. It is not the loop's default executor: that one has
few threads on a small machine, and a handful of agents waiting in a request would take them
all, stalling every other ``run_in_executor`` of the program.

A receive waits on the event loop itself (``docs/decisions/0005-native-async-receive.md``): it
takes what is at hand with short non-blocking calls on the loop (the claim, from the log or for
a delivery that arrived), and in between waits, on the loop, for the inbox's broker connection
to have something new (:mod:`bus.broker.readiness`). Nothing is read while it waits, so a
cancelled receive has claimed nothing and leaves nothing behind: the next receive gets the
message at once.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from time import monotonic, time_ns
from typing import Any, Self, TypeVar

from bus import tracing
from bus.api import AgentOperations, BusOperations, awaited
from bus.broker.readiness import wait_for_delivery
from bus.client import AgentClient
from bus.core import Bus
from bus.errors import InvalidArgument
from bus.message import Message
from bus.reading.inbox import WAIT_SLICE, Inbox

T = TypeVar("T")

#: Threads of an :class:`AsyncBus`'s pool: each waiting request holds one.
DEFAULT_MAX_WORKERS = 32


class AsyncBus:
    """A :class:`~bus.Bus` for asyncio: the same operations, awaited.

    Args:
        bus: The bus to drive; ``Bus()`` (settings from the environment) by default.
        max_workers: Threads of the pool that runs the bus's calls; each receive that is
            waiting holds one, so allow one per agent receiving at once, plus a few.
        executor: A pool to run the calls on instead (it is not shut down by :meth:`stop`).

    Use it started: ``async with AsyncBus(Bus(settings)) as bus: ...``.
    """

    def __init__(
        self,
        bus: Bus | None = None,
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        if max_workers < 1:
            raise InvalidArgument(f"max_workers must be at least 1, not {max_workers!r}")
        #: The synchronous bus every call goes to.
        self.bus = bus if bus is not None else Bus()
        self._max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = executor
        #: Whether :meth:`stop` shuts the pool down (not when it was given).
        self._owns_executor = executor is None
        #: agent -> the lock its receives take turns on (one waits on the inbox at a time).
        self._receiving: dict[str, asyncio.Lock] = {}
        #: The waits of receives in progress: :meth:`stop` ends them.
        self._waits: set[asyncio.Future[bool]] = set()

    def _pool(self) -> ThreadPoolExecutor:
        # Made on first use rather than in start(), so a bus started elsewhere works as it is.
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="bus-aio")
        return self._executor

    async def call(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a blocking ``function(*args, **kwargs)`` on the bus's threads and await it, in the
        caller's context (its current span is the parent of a publish's span)."""
        run = contextvars.copy_context().run
        return await asyncio.wrap_future(self._pool().submit(run, function, *args, **kwargs))

    async def _await_sync(self, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        # What every awaited(...) operation below does: the bus's operation, on the pool.
        return await self.call(getattr(self.bus, operation), *args, **kwargs)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether the bus is started."""
        return self.bus.started

    async def start(self) -> Self:
        """See :meth:`bus.Bus.start`."""
        await self.call(self.bus.start)
        return self

    async def stop(self) -> None:
        """Stop the bus (see :meth:`bus.Bus.stop`) and let the pool's threads end. Safe twice.
        Receives still waiting return ``None``."""
        self._end_waits()
        await self.call(self.bus.stop)
        self._release_pool()

    def _end_waits(self) -> None:
        for wait in list(self._waits):
            if not wait.done():
                wait.set_result(True)

    def _release_pool(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None and self._owns_executor:
            executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def destroy(self) -> None:
        """See :meth:`bus.Bus.destroy`; the pool's threads end as on :meth:`stop`."""
        self._end_waits()
        await self.call(self.bus.destroy)
        self._release_pool()

    # -- derived from the declaration: the synchronous operation, awaited ----------------------

    create_channel = awaited(BusOperations.create_channel)
    update_channel = awaited(BusOperations.update_channel)
    get_channel = awaited(BusOperations.get_channel)
    list_channels = awaited(BusOperations.list_channels)
    register_agent = awaited(BusOperations.register_agent)
    register_agents = awaited(BusOperations.register_agents)
    subscribe_many = awaited(BusOperations.subscribe_many)
    unregister_agent = awaited(BusOperations.unregister_agent)
    agents = awaited(BusOperations.agents)
    subscribe = awaited(BusOperations.subscribe)
    unsubscribe = awaited(BusOperations.unsubscribe)
    subscriptions = awaited(BusOperations.subscriptions)
    publish = awaited(BusOperations.publish)
    send = awaited(BusOperations.send)
    request = awaited(BusOperations.request)  # the wait holds one thread of the pool
    post = awaited(BusOperations.post)
    history = awaited(BusOperations.history)
    direct_history = awaited(BusOperations.direct_history)
    status = awaited(BusOperations.status)
    wait_for = awaited(BusOperations.wait_for)  # the wait holds one thread of the pool
    trace = awaited(BusOperations.trace)

    # -- what differs in asyncio ---------------------------------------------------------------

    @property
    def skipped(self) -> dict[tuple[str, str], int]:
        """See :attr:`bus.Bus.skipped` (read in place: it does not block)."""
        return self.bus.skipped

    async def agent(self, name: str, *, channels: Iterable[str] = ()) -> AsyncAgentClient:
        """Register ``name`` and return its asyncio client; see :meth:`bus.Bus.agent`."""
        client = await self.call(self.bus.agent, name, channels=list(channels))
        return AsyncAgentClient(self, client)

    async def receive(
        self, agent: str, *, channel: str | None = None, timeout: float | None = None
    ) -> Message | None:
        """The agent's next message; see :meth:`bus.Bus.receive`.

        It waits on the event loop, not on a thread. Cancelling it (``asyncio.wait_for``, a task
        group ending) loses nothing and claims nothing: the next receive gets the next message.

        Args:
            timeout: Seconds to wait; ``None`` waits until a message comes, ``0`` does not wait.

        Returns:
            The message, or ``None`` when the timeout passed or the bus stopped.

        Raises:
            UnknownAgent, NotSubscribed, InvalidArgument as :meth:`bus.Bus.receive`.
        """
        started = time_ns() if tracing.active() else 0
        reader = self.bus.reader
        store, stream = reader.checked(agent, channel, timeout)
        deadline = None if timeout is None else monotonic() + timeout
        turn = self._receiving.get(agent)
        if turn is None:
            turn = self._receiving[agent] = asyncio.Lock()
        if not turn.locked() and self.bus.inboxes.opened(agent) is not None:
            # Nobody waits on the inbox: what is at hand is this receive's, with no await
            # between the look and the return (the turn is only for waiting).
            message = reader.receive_now(store, agent, stream, missed=False, started=started)
            if message is not None:
                return message
        async with turn:
            inbox = await self._inbox(agent)
            missed = False
            while True:
                # No await between a claim and the return: a cancellation cannot come between.
                message = reader.receive_now(store, agent, stream, missed=missed, started=started)
                if message is not None:
                    return message
                left = WAIT_SLICE if deadline is None else deadline - monotonic()
                if self.bus.inboxes.stopping:
                    return None
                if left <= 0:
                    # As Bus.receive before it gives up: look in the log for messages whose
                    # deliveries never came.
                    if missed:
                        return None
                    return reader.receive_now(store, agent, stream, missed=True, started=started)
                # Woken by the broker: take what arrived. At the slice's end: look in the log
                # too, as Bus.receive does after a wait that brought nothing.
                missed = not await self._wait(inbox, min(left, WAIT_SLICE))
                if inbox.broken:
                    inbox = await self._inbox(agent)

    async def _inbox(self, agent: str) -> Inbox:
        """The agent's inbox; opening one connects to the broker: on the pool."""
        inbox = self.bus.inboxes.opened(agent)
        if inbox is None:
            inbox = await self.call(self.bus.inboxes.get, agent)
        return inbox

    async def _wait(self, inbox: Inbox, timeout: float) -> bool:
        """Wait on the loop for the inbox's broker connection to have something, ``timeout``
        seconds at most; ``True`` unless the time ran out."""
        wait = asyncio.get_running_loop().create_future()
        self._waits.add(wait)
        try:
            return await wait_for_delivery(inbox.connection, wait, timeout)
        finally:
            self._waits.discard(wait)


class AsyncAgentClient:
    """One agent's view of an :class:`AsyncBus`: :class:`~bus.client.AgentClient`, awaited.

    Get one with :meth:`AsyncBus.agent`.
    """

    def __init__(self, bus: AsyncBus, client: AgentClient) -> None:
        self._bus = bus
        self._client = client

    @property
    def bus(self) -> AsyncBus:
        """The asyncio bus this client acts on."""
        return self._bus

    @property
    def name(self) -> str:
        """The agent's name, the sender of everything this client publishes."""
        return self._client.name

    def __repr__(self) -> str:
        return f"AsyncAgentClient({self.name!r})"

    async def _await_sync(self, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        # What every awaited(...) operation below does: the client's operation, on the pool.
        return await self._bus.call(getattr(self._client, operation), *args, **kwargs)

    # -- derived from the declaration: the agent client's operation, awaited -------------------

    publish = awaited(AgentOperations.publish)
    send = awaited(AgentOperations.send)
    reply = awaited(AgentOperations.reply)
    request = awaited(AgentOperations.request)  # the wait holds one thread of the pool
    subscribe = awaited(AgentOperations.subscribe)
    unsubscribe = awaited(AgentOperations.unsubscribe)
    subscriptions = awaited(AgentOperations.subscriptions)
    history = awaited(AgentOperations.history)
    direct_history = awaited(AgentOperations.direct_history)
    status = awaited(AgentOperations.status)
    wait_for = awaited(AgentOperations.wait_for)  # the wait holds one thread of the pool

    # -- what differs in asyncio ---------------------------------------------------------------

    async def receive(
        self, channel: str | None = None, timeout: float | None = None
    ) -> Message | None:
        """See :meth:`AsyncBus.receive`: cancelling it loses nothing."""
        return await self._bus.receive(self.name, channel=channel, timeout=timeout)

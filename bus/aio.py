"""The bus for asyncio code: every :class:`~bus.Bus` operation as a coroutine.

The operations are derived from their declaration in :mod:`bus.api` (``publish =
awaited(BusOperations.publish)``): same parameters, same documentation, awaited. Only what
differs in asyncio is written here: starting and stopping (the thread pool), receiving
(cancellable), and the agent clients this bus hands out.

Kombu and the Redis client are synchronous, so each call runs on a thread of a pool the
:class:`AsyncBus` owns. It is not the loop's default executor: that one has few threads on a
small machine, and a handful of agents waiting in :meth:`AsyncBus.receive` would take them all,
stalling every other ``run_in_executor`` of the program.

A receive waits in slices of :data:`RECEIVE_SLICE` seconds, so a cancelled one frees its thread
within a slice; what it claimed all the same is kept (:mod:`bus.reading.kept`) as the agent's next.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from time import monotonic
from typing import Any, Self, TypeVar

from bus.api import AgentOperations, BusOperations, awaited
from bus.client import AgentClient
from bus.core import Bus
from bus.errors import InvalidArgument
from bus.message import Message
from bus.reading.kept import KeptMessages

T = TypeVar("T")

#: Threads of an :class:`AsyncBus`'s pool: each waiting receive holds one.
DEFAULT_MAX_WORKERS = 32
#: Longest stretch, in seconds, one thread waits for a message before the receive looks again.
RECEIVE_SLICE = 1.0


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
        self._kept = KeptMessages()  # what cancelled receives claimed: the agent's next ones

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
        """Stop the bus (see :meth:`bus.Bus.stop`) and let the pool's threads end. Safe twice."""
        await self.call(self.bus.stop)
        self._release_pool()

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

        Cancelling it (``asyncio.wait_for``, a task group ending) loses nothing: a message
        claimed while the receive was being cancelled is the agent's next one.

        Args:
            timeout: Seconds to wait; ``None`` waits until a message comes, ``0`` does not wait.

        Returns:
            The message, or ``None`` when the timeout passed.

        Raises:
            UnknownAgent, NotSubscribed, InvalidArgument as :meth:`bus.Bus.receive`.
        """
        await self._kept.settle(agent)
        kept = self._kept.take(agent, channel)
        if kept is not None:
            return kept
        if timeout is not None and (
            not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0
        ):
            raise InvalidArgument(f"timeout must be a number >= 0 or None, not {timeout!r}")
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            remaining = RECEIVE_SLICE if deadline is None else max(0.0, deadline - monotonic())
            message = await self._receive_once(agent, channel, min(remaining, RECEIVE_SLICE))
            if message is not None or (deadline is not None and monotonic() >= deadline):
                return message

    async def _receive_once(
        self, agent: str, channel: str | None, timeout: float
    ) -> Message | None:
        future = self._pool().submit(self.bus.receive, agent, channel=channel, timeout=timeout)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self._kept.orphan(agent, future)
            raise


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

"""The agent runtime of one worker process: its event loop, its runs, its handlers.

One :class:`Runtime` per worker process (made after the fork in a prefork child), given the
process's one :class:`~bus.Bus`. It owns:

- the event loop every ``async def`` handler runs on (:class:`~bus.worker.loop.EventLoopThread`),
  where the agents' startup hooks ran, so loop-bound clients work on every message;
- the stream runs (:mod:`bus.worker.runs`, :mod:`bus.worker.active_runs`), many at once, one
  at a time per (agent, stream), each given the runtime's parts as plain callables;
- the agents' handlers, run for one message at a time per call (:mod:`bus.worker.handling`:
  contexts, the plain handlers' threads, spans), and the threads of blocking bus and store
  calls;
- the lease keeper, which renews the leases of active runs.

A message posted from this process to an agent it hosts starts that agent's run at once,
without waiting for the broker's delivery (which then finds it handled): a handler that
``request``\\s another agent of the same worker gets its answer whatever the pool's load.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from bus.channels import Stream
from bus.core import Bus
from bus.errors import UnknownAgent
from bus.message import Message
from bus.settings.logs import install_worker_logging
from bus.settings.transports import transport_of
from bus.worker.active_runs import ActiveRuns
from bus.worker.agent import Agent
from bus.worker.context import AgentState
from bus.worker.handling import Handling
from bus.worker.heartbeat import Heartbeat
from bus.worker.lease_keeper import LeaseKeeper
from bus.worker.loop import EventLoopThread
from bus.worker.outcomes import Outcome, Status
from bus.worker.pushed_receipts import ReceiptPusher
from bus.worker.run_calls import RunCalls

logger = logging.getLogger("bus.delivery")
install_worker_logging()  # `celery -A bus worker` lines carry agent, channel, seq, message id

T = TypeVar("T")


class Runtime:
    """Runs the handlers of the agents a worker process hosts (see the module doc)."""

    def __init__(self, bus: Bus, agents: Mapping[str, Agent]) -> None:
        self.bus = bus
        self.settings = settings = bus.settings
        self.agents = agents
        #: This process's worker id: its liveness record, named by every lease token it takes
        #: (the nonce tells a restarted process that got the same pid from its predecessor).
        self.identity = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(2)}"
        self.lease_ms = int(settings.lease_seconds * 1000)
        self.keeper = LeaseKeeper(self._renew, settings.lease_seconds)
        self.states = {name: AgentState() for name in agents}
        self.stopping = False
        self._closing = threading.Lock()
        self._io = ThreadPoolExecutor(settings.worker_concurrency, thread_name_prefix="bus-io")
        #: Whether the runs' store and broker calls wait on nothing but a lock (memory://
        #: with the in-process store): then they are made on the loop, not sent to a thread
        #: and back (two thread hops a message, most of a memory:// run's cost).
        self._inline_io = (
            transport_of(settings.broker_url).in_process and not bus.store.waits_on_server
        )
        self._loop = EventLoopThread()
        self._wake: asyncio.Event | None = None
        self.handling = Handling(bus, self.states, self.io, self._io)
        self.runs = ActiveRuns(
            RunCalls(
                bus=bus,
                io=self.io,
                handle=self.handling.handle,
                pause=self.pause,
                stopping=lambda: self.stopping,
                keeper=self.keeper,
                identity=self.identity,
                receipts=ReceiptPusher(bus),
            )
        )
        bus.publisher.observers.append(self._posted)
        # The hosted agents' keys sign only for their own handlers' bound buses.
        bus.guard.confine(agents)
        self.heartbeat = Heartbeat(
            bus.store.liveness,
            self.identity,
            list(agents),
            interval=settings.heartbeat_seconds,
            ttl=settings.liveness_seconds,
            on_gone=self._resume,
            check=bus.store.epochs.check_heads,
        )
        self._loop.run(self._startup())
        self.heartbeat.start()

    # -- lifecycle -----------------------------------------------------------------------------

    async def _startup(self) -> None:
        self._wake = asyncio.Event()
        for agent in self.agents.values():
            for hook in agent.startup_hooks:
                await _call_hook(hook, self.states[agent.name])

    def close(self, grace: float | None = None) -> None:
        """Stop: let running handlers finish for up to ``grace`` seconds (``BUS_SHUTDOWN_GRACE``),
        cancel the rest (their messages are handled again by the next worker), run the agents'
        shutdown hooks, stop the loop. Safe to call twice."""
        with self._closing:
            if not self._loop.running:
                return
            self._close(grace)

    def _close(self, grace: float | None) -> None:
        self.stopping = True
        wait = self.settings.shutdown_grace if grace is None else grace
        try:
            self._loop.run(self._shutdown(wait), timeout=wait + 30)
        except Exception:
            logger.exception("stopping the agents' runtime failed")
        self._loop.stop()
        self.heartbeat.stop()
        self.keeper.stop()
        self._io.shutdown(wait=False, cancel_futures=True)
        self.handling.shutdown()
        self.bus.guard.release()

    async def _shutdown(self, grace: float) -> None:
        if self._wake is not None:
            self._wake.set()  # wake runs pausing before a retry
        active = self.runs.active
        if active:
            logger.info("waiting up to %s s for %s running handler(s)", grace, active)
        await self.runs.drain(grace)
        for agent in self.agents.values():
            for hook in agent.shutdown_hooks:
                try:
                    await _call_hook(hook, self.states[agent.name])
                except Exception:
                    logger.exception("%s's shutdown hook %r failed", agent.name, hook)

    # -- what runs need ------------------------------------------------------------------------

    async def io(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (the store, the broker) on an I/O thread and await it; on the
        loop itself when nothing it calls waits on a server (see ``_inline_io``)."""
        # In this context (the span being handled, for log lines and the publish span's parent).
        context = contextvars.copy_context()
        if self._inline_io:
            return context.run(function, *args)
        call = functools.partial(context.run, function, *args)
        return await asyncio.get_running_loop().run_in_executor(self._io, call)

    async def pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the worker starts stopping."""
        assert self._wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _renew(self, agent: str, stream: str, token: str) -> bool:
        # Only ever extend: a renewal racing the end of a run must not take the lease back
        # after the run gave it up (it would sit orphaned, blocking the stream, for a TTL).
        return self.bus.store.leases.renew_lease(agent, stream, token, self.lease_ms)

    def _resume(self, gone: frozenset[str]) -> None:
        # On the heartbeat's thread: workers stopped beating, so their leases are free. Start the
        # run of every hosted stream that is behind; one that finds a live holder waits for it.
        if self.stopping:
            return
        behind = [
            (agent, Stream.parse(lag.stream))
            for agent in self.agents.values()
            for lag in self.bus.store.leases.backlog(agent.name)
        ]
        logger.info(
            "worker %s is no longer alive: resuming %s",
            ", ".join(sorted(gone)),
            ", ".join(f"{agent.name} on {stream.label}" for agent, stream in behind) or "nothing",
        )
        for agent, stream in behind:
            self._loop.call_soon(self.runs.kick, agent, stream)

    def _posted(self, message: Message, recipients: list[str]) -> None:
        for name in recipients:
            agent = self.agents.get(name)
            if agent is not None and not self.stopping:
                stream = Stream.of(name, message.channel)
                self._loop.call_soon(self.runs.kick, agent, stream, message.seq)

    # -- what delivery tasks call --------------------------------------------------------------

    def agent(self, name: str) -> Agent:
        """The hosted agent called ``name``.

        Raises:
            UnknownAgent: this worker does not host it.
        """
        try:
            return self.agents[name]
        except KeyError:
            raise UnknownAgent(
                f"this worker does not host agent {name!r} (hosted: {', '.join(self.agents)})",
                agent=name,
            ) from None

    def deliver(self, agent: str, channel: str | None, seq: int, task_id: str | None) -> Outcome:
        """Start (or join) the run of ``agent``'s stream and wait for message ``seq``: called on
        a pool thread, it hops onto the event loop, where the runs live."""
        definition = self.agent(agent)
        stream = Stream.of(agent, channel)
        if self.stopping:
            return Outcome(Status.INTERRUPTED, error="the worker is stopping")
        future = self._loop.submit(self.runs.deliver(definition, stream, seq, task_id))
        # Not past the prefork hard time limit, nor Redis's visibility timeout: the run goes on
        # without this task, which then reports the message as deferred to it.
        wait = 0.9 * self.settings.handler_time_limit
        try:
            outcome = future.result(timeout=wait)
        except TimeoutError:
            return Outcome(Status.DEFERRED)
        if outcome.status is Status.ALREADY and not outcome.handled and self._removed(agent):
            logger.warning(
                "dropped a delivery to %s (%s #%s): the agent was unregistered",
                agent,
                channel or "DM",
                seq,
            )
        return outcome

    def _removed(self, agent: str) -> bool:
        """Whether ``agent`` was unregistered (its run found nothing: the store forgot its
        positions). Asked only when a delivery handled nothing, so a healthy stream pays no
        extra store call; a store that fails to answer counts as "not removed"."""
        try:
            return not self.bus.store.registry.is_agent(agent)
        except Exception:
            return False

    def replay(self, agent: str, message: dict[str, Any], task_id: str | None) -> str | None:
        """Run the agent's handlers once for a dead letter handed back (no order, no lease).

        Returns:
            ``None``, or what failed.
        """
        decoded = Message.from_dict(message)
        return self._loop.run(self.handling.handle(self.agent(agent), decoded, 1, task_id))


async def _call_hook(hook: Callable[[AgentState], Any], state: AgentState) -> None:
    result = hook(state)
    if inspect.isawaitable(result):
        await result

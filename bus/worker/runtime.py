"""Running deliveries in a worker: in sequence order, at least once, with retries.

A delivery task for ``(agent, channel, seq)`` takes the agent's lease on the channel, then runs
the handlers for every message after the agent's position up to ``seq`` — usually just ``seq``;
more when the broker delivered out of order or lost a delivery — committing the position after
each. So for each (agent, channel) handlers run one at a time, in sequence order, whatever the
pool, prefetch or number of workers. A task that finds its seq already handled does nothing.

A failing handler is retried (Celery retry with exponential backoff) up to ``max_retries``;
then the message becomes a dead letter and the agent moves on. Later messages of that channel
wait for the failing one, as order requires, but never longer than its retries.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import threading
import time
from typing import Any

from celery import Task

from bus.core import Bus
from bus.deadletters import DeadLetter, dead_letter
from bus.errors import HandlerFailed, UnknownAgent
from bus.logs import install_worker_logging
from bus.message import Message
from bus.store.base import channel_stream, direct_stream
from bus.worker.agent import Agent
from bus.worker.context import Context
from bus.worker.leases import LeaseKeeper
from config.settings import BusSettings

logger = logging.getLogger("bus.delivery")
install_worker_logging()  # `celery -A bus worker` lines carry agent, channel, seq, message id

#: How long a delivery spins for another worker to give an agent's stream up (seconds), and
#: how often it looks meanwhile. Kept short: a delivery that blocks holds a pool slot, and the
#: holder may be waiting for a reply that needs that very slot. After it, the delivery is
#: retried with a countdown, which waits in the worker's timer instead of the pool.
LEASE_WAIT = 0.05
LEASE_POLL = 0.005
#: Countdown of such a retry (seconds), doubled at each further one up to LEASE_RETRY_MAX.
LEASE_RETRY = 0.05
LEASE_RETRY_MAX = 1.0
#: Seconds past a failing message's backoff before a later delivery takes it over from the
#: delivery that owns it.
OWNER_GRACE = 2.0


def _now_ms() -> int:
    return int(time.time() * 1000)


class Runtime:
    """The worker side of a bus in one worker process (one per process, made on first use)."""

    def __init__(self, settings: BusSettings, agents: dict[str, Agent]) -> None:
        self.settings = settings
        self.agents = agents
        self._bus: Bus | None = None
        self._lock = threading.Lock()
        self._ttl_ms = int(settings.lease_seconds * 1000)
        self._keeper = LeaseKeeper(self._renew, settings.lease_seconds)

    @property
    def bus(self) -> Bus:
        """This process's bus, started on first use (so after a prefork child forked)."""
        with self._lock:
            if self._bus is None:
                self._bus = Bus(self.settings).start()
            return self._bus

    def close(self) -> None:
        """Stop the bus and the lease keeper."""
        self._keeper.stop()
        with self._lock:
            if self._bus is not None:
                self._bus.stop()
                self._bus = None

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1, 2, ...)."""
        return float(
            min(self.settings.retry_backoff_max, self.settings.retry_backoff * 2 ** (attempt - 1))
        )

    def _renew(self, agent: str, stream: str, token: str) -> bool:
        # Only ever extend: a renewal racing the end of a delivery must not take the lease back
        # after the delivery gave it up (it would sit orphaned, blocking the stream, for a TTL).
        return self.bus.store.renew_lease(agent, stream, token, self._ttl_ms)

    # Over ruff's complexity limit (12 > 10): refactored in issue 8 (one handler loop).
    def deliver(self, task: Task, agent: str, channel: str | None, seq: int) -> dict[str, Any]:  # noqa: C901
        """Run the handlers of ``agent`` for its stream up to ``seq``; see the module doc.

        Returns:
            What was handled: ``{"agent", "channel", "seq", "handled": [seqs]}``.
        """
        definition = self._agent(agent)
        store = self.bus.store
        stream = direct_stream(agent) if channel is None else channel_stream(channel)
        token = f"{task.request.hostname}/{os.getpid()}/{task.request.id}"
        deadline = time.monotonic() + LEASE_WAIT
        held, body, failure = store.begin(agent, stream, token, self._ttl_ms, seq)
        while not held:
            if time.monotonic() > deadline:
                countdown = min(LEASE_RETRY_MAX, LEASE_RETRY * 2**task.request.retries)
                raise task.retry(countdown=countdown, max_retries=None)
            time.sleep(LEASE_POLL)
            held, body, failure = store.begin(agent, stream, token, self._ttl_ms, seq)
        handled: list[int] = []
        self._keeper.hold(agent, stream, token)
        try:
            while body is not None:
                message = Message.from_json(body)
                assert message.seq is not None  # stored messages always carry one
                attempts = 0
                if failure is not None:
                    attempts, not_before = failure
                    # A failing message is retried by its own delivery (so Flower shows the
                    # retries and the final state on it); a later delivery waits its turn and
                    # takes the message over only if that retry seems lost.
                    if message.seq != seq:
                        not_before += int(OWNER_GRACE * 1000)
                    if not_before > _now_ms():
                        raise task.retry(
                            countdown=(not_before - _now_ms()) / 1000, max_retries=None
                        )
                try:
                    self.run_handlers(definition, message, task.request.id, attempts + 1)
                except HandlerFailed as exc:
                    attempts = store.record_failure(
                        agent,
                        stream,
                        message.seq,
                        _now_ms() + int(self.backoff(attempts + 1) * 1000),
                    )
                    if attempts <= self.settings.max_retries:
                        logger.warning(
                            "%s failed on %s #%s (attempt %s of %s), retrying in %.1f s: %s",
                            agent,
                            channel or "DM",
                            message.seq,
                            attempts,
                            self.settings.max_retries + 1,
                            self.backoff(attempts),
                            exc,
                        )
                        raise task.retry(
                            exc=exc, countdown=self.backoff(attempts), max_retries=None
                        ) from None
                    dead_letter(
                        self.bus,
                        DeadLetter(
                            agent=agent,
                            channel=channel,
                            seq=message.seq,
                            message=message,
                            error=str(exc),
                            attempts=attempts,
                            task_id=task.request.id,
                        ),
                    )
                    logger.error(
                        "%s gave up on %s #%s after %s attempts: %s",
                        agent,
                        channel or "DM",
                        message.seq,
                        attempts,
                        exc,
                    )
                    if message.seq == seq:
                        store.advance(agent, stream, token, self._ttl_ms, message.seq, 0)
                        raise
                else:
                    handled.append(message.seq)
                    logger.info(
                        "%s handled %s #%s",
                        agent,
                        channel or "DM",
                        message.seq,
                        extra={
                            "agent": agent,
                            "channel": channel,
                            "seq": message.seq,
                            "message_id": str(message.id),
                        },
                    )
                held, body, failure = store.advance(
                    agent, stream, token, self._ttl_ms, message.seq, seq
                )
        finally:
            self._keeper.drop(agent, stream)
            if body is not None:
                store.release_lease(agent, stream, token)
        return {"agent": agent, "channel": channel, "seq": seq, "handled": handled}

    def replay(self, task: Task, agent: str, message: dict[str, Any]) -> dict[str, Any]:
        """Run the agent's handlers once for a dead letter handed back (no order, no lease);
        if they fail again, the message becomes a new dead letter."""
        decoded = Message.from_dict(message)
        try:
            self.run_handlers(self._agent(agent), decoded, task.request.id, 1)
        except HandlerFailed as exc:
            dead_letter(
                self.bus,
                DeadLetter(
                    agent=agent,
                    channel=decoded.channel,
                    seq=decoded.seq or 0,
                    message=decoded,
                    error=f"replay failed: {exc}",
                    attempts=1,
                    task_id=task.request.id,
                ),
            )
            raise
        return {"agent": agent, "replayed": str(decoded.id), "seq": decoded.seq}

    def _agent(self, agent: str) -> Agent:
        try:
            return self.agents[agent]
        except KeyError:
            raise UnknownAgent(
                f"this worker does not host agent {agent!r} (hosted: {', '.join(self.agents)})",
                agent=agent,
            ) from None

    def run_handlers(
        self, agent: Agent, message: Message, task_id: str | None, attempt: int
    ) -> None:
        """Run every handler of ``agent`` that takes ``message``; one failing does not stop the
        others.

        A handler may return a string: for a request (a direct message with a correlation id)
        it is sent back as the reply.

        Raises:
            HandlerFailed: naming each handler that raised, and why.
        """
        failures: list[tuple[str, BaseException]] = []
        for handler in agent.handlers_for(message):
            context = Context(self.bus, agent.name, message, task_id=task_id, attempt=attempt)
            try:
                result = handler(message, context)
                if inspect.isawaitable(result):
                    result = asyncio.run(_awaited(result))
                if isinstance(result, str) and message.is_direct and message.correlation_id:
                    context.reply(result)
            except Exception as exc:
                failures.append((getattr(handler, "__qualname__", repr(handler)), exc))
        if failures:
            detail = "; ".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures)
            raise HandlerFailed(
                f"{agent.name}: {detail}",
                agent=agent.name,
                failures=[(name, repr(exc)) for name, exc in failures],
            )


async def _awaited(awaitable: Any) -> Any:
    return await awaitable

"""Stream runs: the handlers of one (agent, stream), one message at a time, in sequence order.

A *run* takes the agent's lease on the stream in the store, then handles every message after the
agent's position until the stream is drained, committing the position after each; the store
gives the lease up in the same atomic step that finds nothing more to do, so a message appended
while a run holds the lease is always handled by that run (or the next). Runs live on the worker
process's event loop (:mod:`bus.worker.loop`): many at once, across agents and streams, none
holding a pool thread while its handlers wait.

A delivery task (through :meth:`bus.worker.active_runs.ActiveRuns.deliver`) starts the run of
its stream if none is active in this process and waits for its own message's outcome, so Flower
shows who handled what and each failure on the delivery of the failing message. A delivery that
finds a run active with nobody waiting on it waits likewise; one that finds somebody waiting
already returns at once: its message is handled by the run all the same, and the pool thread is
free for other agents (a slow agent's backlog holds one thread, not all of them). A delivery that
finds the lease held by another worker process returns at once too: that run drains the stream,
this message included.

A failing message is retried in the run after a backoff (the lease is kept and renewed), up to
``max_retries``; then it becomes a dead letter and the run moves on. The failures are recorded in
the store, so a run that takes over after a crash continues the count.

A run is given what it needs from its process's runtime as plain callables
(:class:`~bus.worker.run_calls.RunCalls`): ``io`` for blocking store calls, ``handle`` for the
agent's handlers, ``pause`` and ``stopping``.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from bus import tracing
from bus.channels import Stream
from bus.deadletters.operations import DeadLetter, dead_letter, set_aside_unreadable
from bus.errors import HopLimitExceeded, MessageDecodeError
from bus.message import Message
from bus.receipts import DeliveryState
from bus.store import Entry, Failure, Holder, Step, lease_token
from bus.worker.agent import Agent
from bus.worker.outcomes import Outcome, Remembered, Status
from bus.worker.run_calls import RunCalls, backoff, log_handled, now_ms
from bus.worker.run_progress import DRAIN, RunProgress
from bus.worker.run_waiters import Waiters
from bus.worker.screening import screen

logger = logging.getLogger("bus.delivery")


class Run:
    """The handlers of one agent for one stream, on the event loop, until it is drained."""

    def __init__(
        self,
        calls: RunCalls,
        agent: Agent,
        stream: Stream,
        task_id: str | None,
        gave_up: Remembered,
    ) -> None:
        self.calls = calls
        self.settings = calls.bus.settings
        self.ttl = int(self.settings.lease_seconds * 1000)
        self.agent = agent
        self.stream = stream
        #: The delivery task that started the run (its id is the lease token's tail).
        self.task_id = task_id
        self.token = lease_token(calls.identity, f"{task_id or 'kick'}/{id(self):x}")
        #: Who held the lease when the run could not take it (another worker's run drains the
        #: stream; :class:`~bus.worker.active_runs.ActiveRuns` looks again at its expiry).
        self.elsewhere: Holder | None = None
        #: True once the run stopped reading: new deliveries start a new run.
        self.closing = False
        #: The deliveries waiting on the run, and the highest message it was asked for.
        self.waiters = Waiters(agent.name, stream.id, gave_up)
        #: Where the run stands (the last message it is done with), and the steps past one.
        self.progress = RunProgress(
            calls, agent.name, stream.id, self.token, self.ttl, self.waiters
        )
        #: The messages handled, for the run's ``deliver`` span.
        where = stream.channel or f"@{agent.name}"
        self._traced = tracing.delivery(agent.name, where, task_id)
        #: True once the run ended before a message it was asked for (see :attr:`unread`).
        self._ended_early = False

    @property
    def position(self) -> int:
        """The last seq this run is done with (0: none yet)."""
        return self.progress.seq

    @property
    def waited_on(self) -> bool:
        """Whether a delivery task waits on this run."""
        return bool(self.waiters)

    @property
    def unread(self) -> bool:
        """Whether the run ended, the stream drained, before a message it was asked for (stored
        after its last read): the stream's next run must start now, and adopt the waiters."""
        return self._ended_early

    def wait_for(self, seq: int, task_id: str | None = None) -> asyncio.Future[Outcome]:
        """A future of what becomes of message ``seq`` (for delivery task ``task_id``)."""
        return self.waiters.add(seq, task_id)

    async def run(self) -> None:
        """Take the lease, drain the stream, give the lease up."""
        calls, store = self.calls, self.calls.bus.store.leases
        agent, stream_id, ttl = self.agent.name, self.stream.id, self.ttl
        try:
            self.waiters.mark()
            step = await calls.io(store.begin, agent, stream_id, self.token, ttl, DRAIN)
        except Exception as exc:
            logger.exception("%s could not start on %s", agent, stream_id)
            self.closing = True
            self.waiters.settle_rest(Status.INTERRUPTED, self.position, f"store failed: {exc}")
            return
        if not step.held:
            self.closing = True
            self.elsewhere = step.holder
            self.waiters.settle_rest(Status.ELSEWHERE, self.position)
            return
        if step.holder is not None:
            logger.warning(
                "%s took %s over from worker %s, which is no longer alive: its handler of the "
                "message in hand may have run in part (at least once)",
                agent,
                self.stream.label,
                step.holder.worker,
            )
        calls.keeper.hold(agent, stream_id, self.token)
        leased = True
        status, error = Status.ALREADY, None
        try:
            while step.entry is not None and not calls.stopping():
                self.waiters.mark()  # the reads from here on see what was asked before
                step = await self.handle_one(step.entry, step.failure)
            leased = step.entry is not None  # the store gave it up when it found nothing more
            if leased:
                status = Status.INTERRUPTED
            elif not step.held and step.holder is not None:
                logger.warning(
                    "%s lost its lease on %s to worker %s: its commit was refused",
                    agent,
                    self.stream.label,
                    step.holder.worker or "(a reader)",
                )
        except asyncio.CancelledError:
            status, error = Status.INTERRUPTED, "cancelled: the worker is stopping"
            raise
        except Exception as exc:
            logger.exception("%s's run on %s failed", agent, stream_id)
            status, error = Status.INTERRUPTED, f"{type(exc).__name__}: {exc}"
        finally:
            self._end(leased, status, error)
            if leased:
                await self._release()

    def _end(self, leased: bool, status: Status, error: str | None) -> None:
        """The run stopped reading: tell the deliveries still waiting (``status``), unless it
        drained the stream before a message it was asked for (:attr:`unread`: the stream's next
        run adopts them)."""
        self.closing = True
        self.calls.keeper.drop(self.agent.name, self.stream.id)
        drained = not leased and status is Status.ALREADY and not self.calls.stopping()
        self._ended_early = drained and self.waiters.late > self.position
        if not self._ended_early:
            self.waiters.settle_rest(status, self.position, error)
        self._traced.end(error)

    async def _release(self) -> None:
        try:
            store = self.calls.bus.store.leases
            await asyncio.shield(
                self.calls.io(store.release_lease, self.agent.name, self.stream.id, self.token)
            )
        except Exception:  # the lease lapses on its own within its TTL
            logger.warning("could not give up the lease on %s", self.stream.id, exc_info=True)

    async def handle_one(self, entry: Entry, failure: Failure | None) -> Step:
        """Handle one message (or one attempt at it), commit; what the store says comes next."""
        calls, store = self.calls, self.calls.bus.store.leases
        agent, stream_id, ttl = self.agent.name, self.stream.id, self.ttl
        seq = entry.seq
        if entry.lost:  # a store failover lost it after it was acknowledged (a fence)
            logger.error(
                "%s #%s lost in a store failover, %s skips it: %s",
                stream_id,
                seq,
                agent,
                entry.body,
            )
            return await self.progress.skip(seq, f"lost in a store failover: {entry.body}")
        try:
            message = Message.from_json(entry.json)
        except MessageDecodeError as exc:  # stored, but no message: set aside, move on
            aside = set_aside_unreadable
            await calls.io(aside, calls.bus, agent, self.stream, seq, entry.json, exc)
            return await self.progress.skip(seq, f"unreadable: {exc}")
        screened = await self._screen(entry, message)
        if screened is not None:
            return screened
        attempts, not_before = failure if failure is not None else (0, 0)
        if not_before > now_ms():
            await calls.pause((not_before - now_ms()) / 1000)
            if calls.stopping():
                return Step(True, entry, failure)  # not handled: the lease is given up
        if entry.skipped and not attempts:
            await self.progress.trimmed(seq, entry.skipped)
        reported = await calls.handle(
            self.agent, message, attempts + 1, self.task_id, entry.skipped
        )
        error = (
            None if reported is None else str(reported)
        )  # stored as text; reported has the cause
        if error is None:
            self.progress.handled(seq)
            self._traced.handled(message)
            log_handled(agent, message, self.waiters.task_id(seq, self.task_id))
            state = DeliveryState.HANDLED
            return await self.progress.commit(seq, message, state, attempts=attempts + 1)
        wait = backoff(self.settings, attempts + 1)
        retry_at = now_ms() + int(wait * 1000)
        failed = functools.partial(store.record_failure, agent, stream_id, seq, retry_at)
        attempts = await calls.io(failed, error, self.token)
        if not attempts:  # its lease lapsed while the handler ran: the message is not its own
            logger.warning("%s lost its lease on %s while #%s failed", agent, stream_id, seq)
            return Step(False)
        # A loop stopped by the hop limit fails the same way every time: dead-letter it now.
        looped = isinstance(getattr(reported, "exception", None), HopLimitExceeded)
        if attempts <= self.settings.max_retries and not looped:
            logger.warning(
                "%s failed on %s #%s (attempt %s of %s), retrying in %.1f s: %s",
                agent,
                message.channel or "DM",
                seq,
                attempts,
                self.settings.max_retries + 1,
                wait,
                error,
            )
            # Read the same message again, with its failure count and when it may be retried.
            return await calls.io(store.begin, agent, stream_id, self.token, ttl, DRAIN)
        letter = await calls.io(dead_letter, calls.bus, self._letter(message, error, attempts))
        logger.error(
            "%s gave up on %s #%s after %s attempts: %s",
            agent,
            message.channel or "DM",
            seq,
            attempts,
            error,
        )
        self.progress.failed(seq, reported)
        self._traced.handled(message, dead_lettered=True)
        return await self.progress.commit(
            seq,
            message,
            DeliveryState.DEAD_LETTERED,
            attempts=attempts,
            error=error,
            dead_letter_seq=letter.seq,
        )

    async def _screen(self, entry: Entry, message: Message) -> Step | None:
        """The step past ``message`` if no handler may see it (:mod:`bus.worker.screening`),
        else ``None``."""
        screened = await screen(self.calls, self.agent.name, self.stream, entry, message)
        if screened is None:
            return None
        if screened.refused is None:
            return await self.progress.passed(entry.seq)
        return await self.progress.refused(entry.seq, message, screened.refused)

    def _letter(self, message: Message, error: str, attempts: int) -> DeadLetter:
        assert message.seq is not None
        return DeadLetter(
            agent=self.agent.name,
            channel=message.channel,
            seq=message.seq,
            message=message,
            error=error,
            attempts=attempts,
            task_id=self.task_id,
        )

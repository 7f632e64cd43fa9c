"""The active stream runs of one worker process: which delivery starts a run, which joins one.

A run that found the stream's lease held by another worker's run leaves the stream to it; the
stream is looked at again when that lease would lapse, so a live worker that stopped renewing it
is taken over then, not at the next sweep (a worker that died is noticed sooner, by the
heartbeat: :mod:`bus.worker.heartbeat`).

Used on the process's event loop only (:class:`~bus.worker.runtime.Runtime` hops onto it).
"""

from __future__ import annotations

import asyncio
import logging
import time

from bus.channels import Stream
from bus.worker.agent import Agent
from bus.worker.outcomes import Outcome, Remembered, Status
from bus.worker.run_calls import RunCalls
from bus.worker.runs import Run

logger = logging.getLogger("bus.delivery")

#: Seconds after a lease's expiry before its stream is looked at again (the store's clock and
#: this one's timer need not agree to the millisecond).
RECHECK_MARGIN = 0.05


class ActiveRuns:
    """The active runs of one worker process, by (agent, stream); used on the loop only."""

    def __init__(self, calls: RunCalls) -> None:
        self._calls = calls
        self._active: dict[tuple[str, str], Run] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._gave_up = Remembered()
        #: (agent, stream) -> the timer that looks at a stream held elsewhere again.
        self._rechecks: dict[tuple[str, str], asyncio.TimerHandle] = {}

    def start(self, agent: Agent, stream: Stream, task_id: str | None) -> Run:
        """Start a run of ``agent`` on ``stream``, as a task of the loop (``Run.run``)."""
        run = Run(self._calls, agent, stream, task_id, self._gave_up)
        key = (agent.name, stream.id)
        self._active[key] = run
        task = asyncio.get_running_loop().create_task(run.run(), name=f"run {key}")
        self._tasks.add(task)

        def finished(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            if self._active.get(key) is run:
                del self._active[key]
            if run.unread:
                self._follow(run)
            self._recheck_later(run)

        task.add_done_callback(finished)
        return run

    async def deliver(self, agent: Agent, stream: Stream, seq: int, task_id: str | None) -> Outcome:
        """What becomes of message ``seq``: start the stream's run if none is active, else join
        the active one (or return at once if somebody waits on it already)."""
        run = self._active.get((agent.name, stream.id))
        if run is None or run.closing:
            waiter = self.start(agent, stream, task_id).wait_for(seq, task_id)
        elif seq <= run.position or run.waited_on:
            status = Status.ALREADY if seq <= run.position else Status.DEFERRED
            if status is Status.DEFERRED:
                run.waiters.want(seq)
            key = (agent.name, stream.id, seq)
            gave_up = self._gave_up.get(key)
            if status is Status.ALREADY and gave_up is not None:
                return Outcome(Status.FAILED, [], gave_up, self._gave_up.cause_of(key))
            return Outcome(status)
        else:
            waiter = run.wait_for(seq, task_id)
        # The run settles the waiter; a delivery that stops waiting must not cancel it.
        return await asyncio.shield(waiter)

    def kick(self, agent: Agent, stream: Stream, seq: int | None = None) -> None:
        """Make sure the stream's run is active and reads message ``seq`` (just posted to it
        here; ``None``: whatever the stream holds)."""
        run = self._active.get((agent.name, stream.id))
        if run is None or run.closing:
            self.start(agent, stream, None)
        else:
            run.waiters.want(seq if seq is not None else run.position + 1)

    def _follow(self, run: Run) -> None:
        """``run`` drained its stream before a message it was asked for was stored: the
        stream's next run reads it, and tells the deliveries still waiting on ``run``."""
        handed = run.waiters.hand_over()
        if self._calls.stopping():
            for waiting in handed:
                waiting.future.set_result(
                    Outcome(Status.INTERRUPTED, error="the worker is stopping")
                )
            return
        key = (run.agent.name, run.stream.id)
        successor = self._active.get(key)
        if successor is None or successor.closing:
            successor = self.start(run.agent, run.stream, None)
        successor.waiters.adopt(handed)

    def _recheck_later(self, run: Run) -> None:
        """Look at ``run``'s stream again when the lease that kept it out would lapse."""
        holder, key = run.elsewhere, (run.agent.name, run.stream.id)
        if holder is None or key in self._rechecks or self._calls.stopping():
            return
        delay = holder.expires_in_ms / 1000 + RECHECK_MARGIN
        logger.info(
            "%s waits on %s: worker %s holds its lease until %s (renewed while it runs); "
            "looking again then",
            run.agent.name,
            run.stream.label,
            holder.worker or "(a pull reader)",
            time.strftime("%H:%M:%S", time.localtime(time.time() + delay)),
        )
        loop = asyncio.get_running_loop()
        self._rechecks[key] = loop.call_later(delay, self._recheck, run.agent, run.stream)

    def _recheck(self, agent: Agent, stream: Stream) -> None:
        self._rechecks.pop((agent.name, stream.id), None)
        if not self._calls.stopping():
            self.kick(agent, stream)

    @property
    def active(self) -> int:
        """How many runs are active."""
        return len(self._tasks)

    async def drain(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for the active runs to end, then cancel the rest."""
        for timer in self._rechecks.values():
            timer.cancel()
        self._rechecks.clear()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)

"""The active stream runs of one worker process: which delivery starts a run, which joins one.

Used on the process's event loop only (:class:`~bus.worker.runtime.Runtime` hops onto it).
"""

from __future__ import annotations

import asyncio

from bus.channels import Stream
from bus.worker.agent import Agent
from bus.worker.outcomes import Outcome, Remembered, Status
from bus.worker.runs import Run, RunCalls


class ActiveRuns:
    """The active runs of one worker process, by (agent, stream); used on the loop only."""

    def __init__(self, calls: RunCalls) -> None:
        self._calls = calls
        self._active: dict[tuple[str, str], Run] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._gave_up = Remembered()

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
            gave_up = self._gave_up.get((agent.name, stream.id, seq))
            if status is Status.ALREADY and gave_up is not None:
                return Outcome(Status.FAILED, [], gave_up)
            return Outcome(status)
        else:
            waiter = run.wait_for(seq, task_id)
        # The run settles the waiter; a delivery that stops waiting must not cancel it.
        return await asyncio.shield(waiter)

    def kick(self, agent: Agent, stream: Stream) -> None:
        """Make sure the stream's run is active (a message was just posted to it here)."""
        run = self._active.get((agent.name, stream.id))
        if run is None or run.closing:
            self.start(agent, stream, None)

    @property
    def active(self) -> int:
        """How many runs are active."""
        return len(self._tasks)

    async def drain(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for the active runs to end, then cancel the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)

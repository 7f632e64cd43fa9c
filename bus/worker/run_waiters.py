"""Who waits on one stream run (:mod:`bus.worker.runs`): the delivery tasks waiting for a
message's outcome, what each is told, and the highest message the run was asked for.

A run reads its stream until the store finds nothing more, and gives the lease up in that same
step. A message stored just after that last read, whose delivery joined the run or was deferred
to it (or whose publish in this process found the run active) while the read was under way,
would be read by nobody until the stream's next message: :attr:`Waiters.late` names it (the
highest message asked for since the run's last read began), so
:class:`~bus.worker.active_runs.ActiveRuns` starts the stream's next run at once, which adopts
the deliveries still waiting (:meth:`Waiters.hand_over`, :meth:`Waiters.adopt`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bus.worker.outcomes import HandlerError, Outcome, Remembered, Status


@dataclass(frozen=True)
class Waiting:
    """A delivery task waiting for message ``seq``, handed from a run to the next."""

    seq: int
    future: asyncio.Future[Outcome]
    task_id: str | None


class Waiters:
    """The deliveries waiting on one run of ``agent`` on stream ``stream_id``; used on the
    event loop only.

    Args:
        gave_up: The process's messages given up on (a later delivery of one reports the
            failure).
    """

    def __init__(self, agent: str, stream_id: str, gave_up: Remembered) -> None:
        self._agent = agent
        self._stream_id = stream_id
        self._gave_up = gave_up
        #: The seqs the run handled, in order: a waiter is told those since it began waiting.
        self._handled: list[int] = []
        #: The delivery task waiting for each seq: what its log line names.
        self._task_ids: dict[int, str] = {}
        self._waiting: dict[int, tuple[asyncio.Future[Outcome], int]] = {}
        #: The highest seq a delivery or a publish asked the run for since :meth:`mark` (0:
        #: none): a message its read under way may have missed.
        self.late = 0

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def mark(self) -> None:
        """The run starts a read of the stream: what was asked before, it will see."""
        self.late = 0

    def want(self, seq: int) -> None:
        """Somebody expects the run to read message ``seq``."""
        self.late = max(self.late, seq)

    def add(
        self,
        seq: int,
        task_id: str | None = None,
        future: asyncio.Future[Outcome] | None = None,
    ) -> asyncio.Future[Outcome]:
        """A future of what becomes of message ``seq`` (for delivery task ``task_id``)."""
        if task_id is not None:
            self._task_ids[seq] = task_id
        if future is None:
            future = asyncio.get_running_loop().create_future()
        self._waiting[seq] = (future, len(self._handled))
        self.want(seq)
        return future

    def task_id(self, seq: int, default: str | None) -> str | None:
        """The delivery task that waited for ``seq`` (else ``default``), forgotten here."""
        return self._task_ids.pop(seq, default)

    def handled(self, seq: int) -> None:
        """The run handled message ``seq``."""
        self._handled.append(seq)

    def settle(self, seq: int, status: Status, error: str | None = None) -> None:
        """Tell every delivery waiting for ``seq`` or an earlier message."""
        if status is Status.FAILED:
            self._gave_up.remember((self._agent, self._stream_id, seq), error or "failed")
        for waited in [waited for waited in self._waiting if waited <= seq]:
            future, start = self._waiting.pop(waited)
            if not future.done():
                own = status if waited == seq else Status.ALREADY
                future.set_result(self._outcome(waited, own, start, error))

    def settle_rest(self, status: Status, position: int, error: str | None = None) -> None:
        """Tell every delivery still waiting: ``already`` up to ``position``, else ``status``."""
        for waited in list(self._waiting):
            future, start = self._waiting.pop(waited)
            if not future.done():
                own = Status.ALREADY if waited <= position else status
                future.set_result(self._outcome(waited, own, start, error))

    def hand_over(self) -> list[Waiting]:
        """The deliveries still waiting, for the stream's next run (none wait here after)."""
        handed = [
            Waiting(seq, future, self._task_ids.pop(seq, None))
            for seq, (future, _) in self._waiting.items()
            if not future.done()
        ]
        self._waiting.clear()
        return handed

    def adopt(self, handed: list[Waiting]) -> None:
        """Wait on this run for what the stream's previous run left (:meth:`hand_over`)."""
        for waiting in handed:
            self.add(waiting.seq, waiting.task_id, waiting.future)

    def _outcome(self, seq: int, status: Status, start: int, error: str | None) -> Outcome:
        if status is Status.ALREADY:  # a message this process gave up on stays a failure
            key = (self._agent, self._stream_id, seq)
            gave_up = self._gave_up.get(key)
            if gave_up is not None:
                known = self._gave_up.cause_of(key)
                return Outcome(Status.FAILED, self._handled[start:], gave_up, known)
        cause = error.exception if isinstance(error, HandlerError) else None
        return Outcome(status, self._handled[start:], None if error is None else str(error), cause)

"""Where one stream run stands (:mod:`bus.worker.runs`): the last message it is done with, and
the store steps that move it past a message, each telling the deliveries waiting on the run
(:class:`~bus.worker.run_waiters.Waiters`) what became of it.

Every step is one store call under the run's lease (``advance``: commit the position and read
what comes next), so a run never moves past a message without the store knowing:

- :meth:`RunProgress.commit`: done with a message a handler saw (handled, dead-lettered) or
  that was refused, its receipt pushed to its sender in the same step if the sender asks;
- :meth:`RunProgress.passed`: a message not for this agent to see (nothing to handle);
- :meth:`RunProgress.skip`: a message set aside unhandled (unreadable, lost in a failover);
- :meth:`RunProgress.trimmed`: messages retention trimmed before the run read them (noted).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from bus.message import Message
from bus.receipts import DeliveryState
from bus.store import Step
from bus.worker.outcomes import Status
from bus.worker.run_calls import RunCalls, now_ms
from bus.worker.run_waiters import Waiters

logger = logging.getLogger("bus.delivery")

#: A run drains its stream: it reads on past any particular delivery's seq.
DRAIN = 2**62


class RunProgress:
    """The position of one run of ``agent`` on stream ``stream_id``, and the steps past a
    message; used on the event loop only.

    Args:
        token: The run's lease token (every step is refused if the lease is another's).
        ttl: The lease's milliseconds, renewed by each step.
        waiters: The deliveries waiting on the run.
    """

    def __init__(
        self,
        calls: RunCalls,
        agent: str,
        stream_id: str,
        token: str,
        ttl: int,
        waiters: Waiters,
    ) -> None:
        self._calls = calls
        self._agent = agent
        self._stream_id = stream_id
        self._token = token
        self._ttl = ttl
        self._waiters = waiters
        #: The last seq the run is done with (0: none yet).
        self.seq = 0

    def handled(self, seq: int) -> None:
        """The run's handlers took message ``seq``: tell who waits for it (and before it)."""
        self._waiters.handled(seq)
        self.seq = seq
        self._waiters.settle(seq, Status.HANDLED)

    def failed(self, seq: int, error: str | None) -> None:
        """The run gave message ``seq`` up (``error``): tell who waits for it."""
        self.seq = seq
        self._waiters.settle(seq, Status.FAILED, error)

    async def commit(self, seq: int, message: Message, state: DeliveryState, **facts: Any) -> Step:
        """Commit message ``seq`` (the run is done with it: ``state``), pushing its receipt
        to its sender in the same store step if the sender consumes receipts."""
        self.seq = seq
        calls, store = self._calls, self._calls.bus.store.leases
        advance = functools.partial(
            store.advance, self._agent, self._stream_id, self._token, self._ttl, seq, DRAIN
        )
        return await calls.receipts.commit(calls.io, advance, message, self._agent, state, **facts)

    async def refused(self, seq: int, message: Message, error: str) -> Step:
        """Move past message ``seq``, refused before any handler saw it (its receipt says so)."""
        self._waiters.settle(seq, Status.FAILED, error)
        return await self.commit(seq, message, DeliveryState.REFUSED, attempts=0, error=error)

    async def passed(self, seq: int) -> Step:
        """Move past message ``seq``, which is not for this agent to see (nothing to handle)."""
        self.handled(seq)
        return await self._advance(seq)

    async def skip(self, seq: int, error: str) -> Step:
        """Move past message ``seq``, which was set aside unhandled; what comes next."""
        self.failed(seq, error)
        return await self._advance(seq)

    async def trimmed(self, seq: int, skipped: int) -> None:
        """Retention trimmed the ``skipped`` messages before ``seq`` before the run read them:
        say so, and note them (pushed to consuming senders as a skipped receipt)."""
        logger.warning(
            "%s skipped %d message(s) of %s before #%s: retention trimmed them first",
            self._agent,
            skipped,
            self._stream_id,
            seq,
        )
        bus, first = self._calls.bus, seq - skipped
        note = bus.receipt_drafts.note_skip
        await self._calls.io(
            note, bus.store, self._agent, self._stream_id, first, seq - 1, now_ms()
        )

    async def _advance(self, seq: int) -> Step:
        store = self._calls.bus.store.leases
        return await self._calls.io(
            store.advance, self._agent, self._stream_id, self._token, self._ttl, seq, DRAIN
        )

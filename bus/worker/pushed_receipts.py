"""Pushed receipts (issue 17): what a worker's runs give the store to push to a sender, and
how the sender is woken once the store appended it.

A run commits each message it is done with through ``LeaseStore.advance``; this module's
:class:`ReceiptPusher` hands the advance a :class:`~bus.store.ReceiptDraft` for the message's
sender, and the store appends the receipt to the sender's inbox in that same atomic step if the
sender consumes receipts. The bus's :class:`~bus.reading.receipt_drafts.ReceiptDrafts` builds
(and, with auth on, signs) a receipt message only for the senders it knows consume them; for
any other it gives a draft without a body, which costs the store one flag read, and nothing
more unless the sender does consume them: then the advance moves nothing and says so
(``Pushed.wanted``), and the run commits again with the receipt. So a worker pays one more
store call per consuming sender it had not met yet, and none after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bus.core import Bus
from bus.message import Message
from bus.reading.receipt_drafts import ReceiptDrafts
from bus.receipts import DeliveryState
from bus.store import ReceiptDraft, Step


class ReceiptPusher:
    """The receipts one worker process's runs push (see the module doc).

    Args:
        bus: The process's bus: its receipt drafts (its guard signs them, its broker wakes
            their senders).
    """

    def __init__(self, bus: Bus) -> None:
        self._drafts: ReceiptDrafts = bus.receipt_drafts

    async def commit(
        self,
        io: Callable[..., Awaitable[Any]],
        advance: Callable[[ReceiptDraft | None], Step],
        message: Message,
        member: str,
        state: DeliveryState,
        **facts: Any,
    ) -> Step:
        """``advance(draft)`` (the run's commit) with the receipt of ``member``'s outcome with
        ``message`` (``facts``: attempts, error, dead-letter seq), then wake its sender if the
        store appended it; a second commit if the store asked for the receipt."""
        drafts = self._drafts
        out = drafts.draft(message, member, state, **facts)
        step: Step = await io(advance, None if out is None else out.draft)
        if out is None or step.pushed is None:
            return step
        pushed = step.pushed
        drafts.learn(out.draft, pushed)
        if pushed.wanted:
            out = drafts.draft(message, member, state, build=True, **facts)
            step = await io(advance, None if out is None else out.draft)
            if out is None or step.pushed is None:
                return step
            pushed = step.pushed
            drafts.learn(out.draft, pushed)
        if pushed.wake:  # not otherwise: a hop to an I/O thread costs more than the receipt
            await io(drafts.wake, out, pushed)
        return step

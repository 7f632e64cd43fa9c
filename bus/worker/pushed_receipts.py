"""Pushed receipts (issue 17): what a worker's runs give the store to push to a sender, and
how the sender is woken once the store appended it.

A run commits each message it is done with through ``LeaseStore.advance``; this module's
:class:`ReceiptPusher` hands the advance a :class:`~bus.store.ReceiptDraft` for the message's
sender, and the store appends the receipt to the sender's inbox in that same atomic step if the
sender consumes receipts. The pusher builds (and, with auth on, signs) a receipt message only for
the senders it knows consume them; for any other it gives a draft without a body, which costs
the store one flag read, and nothing more unless the sender does consume them: then the advance
moves nothing and says so (``Pushed.wanted``), and the run commits again with the receipt. So a
worker pays one more store call per consuming sender it had not met yet, and none after.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, NamedTuple

from bus.broker.wire import Delivery
from bus.channels import Stream
from bus.core import Bus
from bus.deadletters.operations import SENDER
from bus.errors import BusError
from bus.message import Attachment, Message, build_message
from bus.receipts import RECEIPT_MEDIA_TYPE, RECEIPT_TYPE, DeliveryState, Receipt
from bus.store import Pushed, ReceiptDraft, Step

logger = logging.getLogger("bus.delivery")


class Outgoing(NamedTuple):
    """A draft for the store, and the receipt message it carries (if built)."""

    draft: ReceiptDraft
    message: Message | None = None


class ReceiptPusher:
    """The receipts one worker process's runs push (see the module doc).

    Args:
        bus: The process's bus: its guard signs receipts, its broker wakes their senders.
    """

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        #: Senders the store said consume receipts (a receipt is built for these only).
        self._consumers: set[str] = set()

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
        out = self.draft(message, member, state, **facts)
        step: Step = await io(advance, None if out is None else out.draft)
        if out is None or step.pushed is None:
            return step
        pushed = step.pushed
        self.learn(out.draft, pushed)
        if pushed.wanted:
            out = self.draft(message, member, state, build=True, **facts)
            step = await io(advance, None if out is None else out.draft)
            if out is None or step.pushed is None:
                return step
            pushed = step.pushed
        if pushed.seq:
            await io(self.wake, out, pushed)
        return step

    def draft(
        self,
        message: Message,
        member: str,
        state: DeliveryState,
        *,
        attempts: int = 1,
        error: str | None = None,
        dead_letter_seq: int | None = None,
        build: bool = False,
    ) -> Outgoing | None:
        """The draft for ``member``'s outcome with ``message``; ``None`` for a message that
        pushes none (a receipt itself, one from the bus, the member's own post). Its receipt
        is built only for a sender known to consume receipts, or with ``build`` (the store
        asked for it)."""
        sender = message.sender
        if message.type == RECEIPT_TYPE or sender in (SENDER, member) or message.seq is None:
            return None
        bus, settings = self._bus, self._bus.settings
        by = bus.guard.identity or SENDER
        now_ms = int(time.time() * 1000)
        retention, coalesce = bus.registry.default_retention, settings.coalesce_deliveries
        if not build and sender not in self._consumers:
            return Outgoing(ReceiptDraft(sender, by, "", None, now_ms, retention, coalesce))
        receipt = Receipt(
            message_id=message.id,
            member=member,
            state=state,
            channel=message.channel,
            seq=message.seq,
            at=datetime.fromtimestamp(now_ms / 1000, UTC),
            attempts=attempts,
            error=error if error is None else error[:2000],
            dead_letter_seq=dead_letter_seq,
        )
        try:
            built = bus.guard.outgoing(
                build_message(
                    recipient=sender,
                    sender=by,
                    content=receipt.summary(),
                    type=RECEIPT_TYPE,
                    attachments=(
                        Attachment(
                            name="receipt.json",
                            media_type=RECEIPT_MEDIA_TYPE,
                            content=receipt.model_dump_json(),
                        ),
                    ),
                )
            )
        except BusError as exc:  # the outcome is what counts: it is committed without one
            logger.warning("no receipt of %s for %s: %s", message.id, sender, exc)
            return None
        body = built.model_dump_json(exclude={"seq"})
        draft = ReceiptDraft(sender, by, str(built.id), body, now_ms, retention, coalesce)
        return Outgoing(draft, built)

    def learn(self, draft: ReceiptDraft, pushed: Pushed) -> None:
        """Remember what the store said of ``draft``'s sender: it consumes receipts (it asked
        for one, or took one), or no longer does."""
        if pushed.wanted or pushed.seq:
            self._consumers.add(draft.sender)
        else:
            self._consumers.discard(draft.sender)

    def wake(self, out: Outgoing, pushed: Pushed) -> None:
        """Publish the delivery of the receipt the store appended (``pushed.seq`` of the
        sender's inbox), unless an outstanding one covers it (coalesced deliveries); a worker
        of this process hosting the sender starts its run at once."""
        draft, built, bus = out.draft, out.message, self._bus
        if built is None:
            return
        posted = built.model_copy(update={"seq": pushed.seq})
        if pushed.wake:
            seq, message_id = pushed.seq, draft.message_id
            delivery = Delivery(
                draft.sender, None, seq, message_id, sender=draft.by, type=RECEIPT_TYPE
            )
            try:
                bus.broker.publish([delivery])
            except BusError as exc:  # stored: the sweep or the next receive finds it
                logger.warning("receipt %s stored, delivery not sent: %s", draft.message_id, exc)
                if draft.coalesce:  # no delivery wakes the sender: the next receipt must
                    with suppress(BusError):
                        bus.store.log.unsignal(Stream.of_inbox(draft.sender).id, [draft.sender])
        for observer in bus.publisher.observers:
            observer(posted, [draft.sender])

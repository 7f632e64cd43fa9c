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

import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import uuid4

from bus.broker.wire import Delivery
from bus.channels import Stream
from bus.core import Bus
from bus.deadletters.operations import SENDER
from bus.errors import BusError
from bus.message import Message, build_message
from bus.receipts import RECEIPT_MEDIA_TYPE, RECEIPT_TYPE, DeliveryState
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
            self.learn(out.draft, pushed)
        if pushed.wake:  # not otherwise: a hop to an I/O thread costs more than the receipt
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
        receipt = {
            "message_id": str(message.id),
            "member": member,
            "state": state.value,
            "channel": message.channel,
            "seq": message.seq,
            "at": datetime.fromtimestamp(now_ms / 1000, UTC).isoformat().replace("+00:00", "Z"),
            "attempts": attempts,
            "error": error if error is None else error[:2000],
            "dead_letter_seq": dead_letter_seq,
        }
        where = f"{message.channel} #{message.seq}" if message.channel else f"direct #{message.seq}"
        fields: dict[str, Any] = {
            "recipient": sender,
            "sender": by,
            "content": f"{member} {state.value.replace('_', '-')} {message.id} ({where})",
            "type": RECEIPT_TYPE,
            "attachments": (
                {
                    "name": "receipt.json",
                    "media_type": RECEIPT_MEDIA_TYPE,
                    "content": json.dumps(receipt, separators=(",", ":")),
                },
            ),
        }
        if bus.guard.identity is None:  # nothing to sign: the JSON straight, a tenth the cost
            message_id = str(uuid4())
            stamp = datetime.fromtimestamp(now_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
            body = json.dumps(
                {"id": message_id, **fields, "timestamp": stamp}, separators=(",", ":")
            )
            return Outgoing(ReceiptDraft(sender, by, message_id, body, now_ms, retention, coalesce))
        try:  # signed like any message, by this worker's identity (as its dead letters are)
            built = bus.guard.outgoing(build_message(**fields))
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
        sender's inbox), unless an outstanding one covers it (``pushed.wake`` false); a worker
        of this process hosting the sender starts its run at once."""
        draft, bus, seq = out.draft, self._bus, pushed.seq
        if not pushed.wake or draft.body is None:
            return  # a delivery is outstanding: its run or receive reads this one too
        delivery = Delivery(
            draft.sender, None, seq, draft.message_id, sender=draft.by, type=RECEIPT_TYPE
        )
        try:
            bus.broker.publish([delivery])
        except BusError as exc:  # stored: the sweep or the next receive finds it
            logger.warning("receipt %s stored, delivery not sent: %s", draft.message_id, exc)
            with suppress(BusError):  # no delivery wakes the sender: the next receipt must
                bus.store.log.unsignal(Stream.of_inbox(draft.sender).id, [draft.sender])
        if bus.publisher.observers:
            posted = out.message or Message.from_json(f'{{"seq":{seq},{draft.body[1:]}')
            for observer in bus.publisher.observers:
                observer(posted, [draft.sender])

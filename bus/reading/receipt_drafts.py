"""Pushed receipts (issue 17): the receipt messages one process drafts for the store, and the
wake-up of their senders once the store appended them.

The store appends a receipt in the step that commits an outcome (a worker's advance, a pull
reader's take); this module drafts what that step is given. :class:`ReceiptDrafts` has a
receipt message built (and, with auth on, signed: :mod:`bus.reading.receipt_messages`) only
for the senders it knows consume them; for any other it gives a draft without a body, which
costs the store one flag read. The worker's commit (:mod:`bus.worker.pushed_receipts`) and the
pull hand-over (:meth:`ReceiptDrafts.hand_over`, used by :mod:`bus.reading.held`) share one per
bus, so a process learns each consuming sender once. See
``docs/decisions/0004-pushed-receipts.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress

from bus.access.guard import Guard, OpenGuard
from bus.broker.deliveries import Broker
from bus.broker.wire import Delivery
from bus.channels import Retention, Stream
from bus.errors import AuthenticationFailed, BusError, MessageDecodeError
from bus.message import Message
from bus.reading.receipt_about import About, about_entry, about_message, stamp
from bus.reading.receipt_messages import BUS_SENDER, Outgoing, ReceiptMessages
from bus.receipts import RECEIPT_TYPE, DeliveryState
from bus.store import Entry, Note, Pushed, ReceiptDraft, Store

logger = logging.getLogger("bus.delivery")

#: Called with a message posted and its recipients (the publisher's observers).
Observer = Callable[[Message, list[str]], None]


class ReceiptDrafts:
    """The receipts one process drafts (see the module doc).

    Args:
        guard: Signs receipts (their sender is its identity; ``bus`` with auth off).
        retention: Of the senders' inboxes.
        coalesce: Whether deliveries are coalesced (``BUS_COALESCE_DELIVERIES``).
        broker: Publishes the deliveries that wake the senders.
        store: The started bus's store.
        observers: Told of each receipt posted (a worker of this process starts its run).
    """

    def __init__(
        self,
        guard: Guard,
        retention: Retention,
        coalesce: bool,
        broker: Broker,
        store: Callable[[], Store],
        observers: list[Observer],
    ) -> None:
        self._guard = guard
        self._retention = retention
        self._coalesce = coalesce
        self._broker = broker
        self._store = store
        self._observers = observers
        #: Builds (and, with auth on, signs) the receipt messages drafted with a body.
        self._messages = ReceiptMessages(guard, retention, coalesce)
        #: Senders the store said consume receipts (a receipt is built for these only).
        self._consumers: set[str] = set()

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
        of_seq: int = 0,
    ) -> Outgoing | None:
        """The draft for ``member``'s outcome with ``message``; ``None`` for a message that
        pushes none (a receipt itself, one from the bus, the member's own post). Its receipt
        is built only for a sender known to consume receipts, or with ``build`` (the store
        asked for it). ``of_seq``: a pull hand-over's, the seq it is for."""
        about = about_message(message, message.seq)
        return self._drafted(
            about,
            member,
            state,
            attempts=attempts,
            error=error,
            dead_letter_seq=dead_letter_seq,
            build=build,
            of_seq=of_seq,
        )

    def _drafted(
        self,
        about: About,
        member: str,
        state: DeliveryState,
        *,
        attempts: int,
        error: str | None,
        dead_letter_seq: int | None,
        build: bool,
        of_seq: int,
        of_stream: str = "",
        replied: bool = False,
    ) -> Outgoing | None:
        """See :meth:`draft`; ``replied``: a request's receipt, for the reply that came."""
        sender, seq, channel = about.sender, about.seq, about.channel
        if about.type == RECEIPT_TYPE or sender in (BUS_SENDER, member) or seq is None:
            return None
        if about.request and state is DeliveryState.HANDLED and not replied:
            return None  # a request is handled once replied: its requester pushes that receipt
        guard, now_ms = self._guard, int(time.time() * 1000)
        by = guard.identity or BUS_SENDER
        retention, coalesce = self._retention, self._coalesce
        if not build and sender not in self._consumers:
            draft = ReceiptDraft(
                sender, by, "", None, now_ms, retention, coalesce, of_seq, of_stream
            )
            return Outgoing(draft)
        receipt = {
            "message_id": about.id,
            "member": member,
            "state": state.value,
            "channel": channel,
            "seq": seq,
            "at": stamp(now_ms),
            "attempts": attempts,
            "error": error if error is None else error[:2000],
            "dead_letter_seq": dead_letter_seq,
        }
        where = f"{channel} #{seq}" if channel else f"direct #{seq}"
        if replied:
            where += ", replied"
        content = f"{member} {state.value.replace('_', '-')} {about.id} ({where})"
        return self._messages.build(sender, receipt, content, now_ms, of_seq, of_stream)

    def replied(self, store: Store, request: Message, at_ms: int) -> None:
        """Note that ``request`` was replied (what ``status`` calls handled for a request) and,
        in the same store step, push its ``handled`` receipt to its sender if the sender
        consumes receipts (the hand-over pushed none); the sender woken. Built, and signed
        with auth on, by this process: the requester's, which got and checked the reply."""
        member, seq = request.recipient, request.seq
        if member is None or seq is None:  # not stored (a duplicate's first)
            return
        about = about_message(request, seq)
        out = self._drafted(
            about,
            member,
            DeliveryState.HANDLED,
            attempts=1,
            error=None,
            dead_letter_seq=None,
            build=True,
            of_seq=0,
            replied=True,
        )
        note = Note("replied", at_ms)
        pushed = store.receipts.note(
            Stream.of_inbox(member).id, seq, member, note, None if out is None else out.draft
        )
        if out is not None and pushed is not None:
            self.learn(out.draft, pushed)
            self.wake(out, pushed)

    def note_skip(
        self, store: Store, agent: str, stream: str, first: int, last: int, at_ms: int
    ) -> None:
        """Note that retention trimmed ``first`` to ``last`` of ``stream`` before ``agent``
        read them, and push a ``skipped`` receipt per run of a consuming sender in the same
        store step (one more step only if there is such a sender); their senders woken."""
        receipts = store.receipts
        skipped = receipts.note_skipped(agent, stream, first, last, at_ms)
        if not skipped.runs:
            return
        channel = Stream.parse(stream).channel
        outs = []
        for run in skipped.runs:
            receipt = {
                "message_id": run.message_id,
                "member": agent,
                "state": DeliveryState.SKIPPED.value,
                "channel": channel,
                "seq": run.first,
                "at": stamp(at_ms),
                "attempts": 0,
                "error": f"retention trimmed {run.messages} message(s) before {agent} read them",
                "messages": run.messages,
                "last_seq": run.last,
            }
            where = f"{channel or 'direct'} #{run.first}-{run.last}"
            content = f"{agent} skipped {run.messages} message(s) of {run.sender} ({where})"
            out = self._messages.build(run.sender, receipt, content, at_ms)
            if out is not None:
                outs.append(out)
        done = receipts.note_skipped(agent, stream, first, last, at_ms, [out.draft for out in outs])
        for out, pushed in zip(outs, done.pushed, strict=False):
            self.wake(out, pushed)

    def hand_over(self, agent: str, entry: Entry) -> Outgoing:
        """The receipt of handing ``entry`` over to pull member ``agent``, which the store
        asked for (:class:`~bus.store.Wanting`): ``handled``, or ``refused`` with the reason if
        the guard refuses it (the receive then makes it a dead letter, as it would anyway). A
        draft with an empty body if none can be built: the hand-over goes on without one."""
        none = ReceiptDraft(
            "", "", "", "", 0, self._retention, of_seq=entry.seq, of_stream=entry.stream
        )
        about = about_entry(entry) if isinstance(self._guard, OpenGuard) else None
        state, error, attempts = DeliveryState.HANDLED, None, 1
        if about is None:  # the guard may refuse it: read it whole and ask
            try:
                message = Message.from_json(entry.json)
            except MessageDecodeError:  # the receive logs it and reads on
                return Outgoing(none)
            about = about_message(message, entry.seq)
            try:
                self._guard.admit(message, Stream.parse(entry.stream), agent=agent)
            except AuthenticationFailed as exc:
                reason = exc.context.get("reason", "unknown")  # as its dead letter words it
                state, error, attempts = DeliveryState.REFUSED, f"refused ({reason}): {exc}", 0
        out = self._drafted(
            about,
            agent,
            state,
            attempts=attempts,
            error=error,
            dead_letter_seq=None,
            build=True,
            of_seq=entry.seq,
            of_stream=entry.stream,
        )
        if out is None:
            return Outgoing(none)
        self._consumers.add(about.sender)
        return out

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
        draft, seq = out.draft, pushed.seq
        if not pushed.wake or not draft.body:
            return  # a delivery is outstanding: its run or receive reads this one too
        delivery = Delivery(
            draft.sender, None, seq, draft.message_id, sender=draft.by, type=RECEIPT_TYPE
        )
        try:
            self._broker.publish([delivery])
        except BusError as exc:  # stored: the sweep or the next receive finds it
            logger.warning("receipt %s stored, delivery not sent: %s", draft.message_id, exc)
            with suppress(BusError):  # no delivery wakes the sender: the next receipt must
                self._store().log.unsignal(Stream.of_inbox(draft.sender).id, [draft.sender])
        if self._observers:
            posted = out.message or Message.from_json(f'{{"seq":{seq},{draft.body[1:]}')
            for observer in self._observers:
                observer(posted, [draft.sender])

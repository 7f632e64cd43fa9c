"""The receipts part of :class:`~bus.store.memory.MemoryStore` (see
:class:`~bus.store.contracts.receipts.ReceiptStore`), and the audience step the log's append
takes (:func:`record_audience`), as ``append.lua`` does on Redis. The message index itself is
the log's (:meth:`~bus.store.memory.tables.MemoryTables.index`)."""

from __future__ import annotations

import json
import time
from bisect import bisect_right
from collections.abc import Sequence

from bus.channels import Stream
from bus.store.contracts.receipts import ReceiptStore
from bus.store.memory.tables import MemoryTables
from bus.store.message_facts import INDEX_FACTOR, DeliveryFacts, Located, MemberFacts, Note
from bus.store.pushed import (
    Pushed,
    ReceiptDraft,
    Skipped,
    SkipRun,
)
from bus.store.results import Wanting


def _oldest_indexed(tables: MemoryTables, stream: str) -> int:
    log = tables.logs.get(stream)
    return 1 if log is None else log.oldest_indexed()


def record_audience(tables: MemoryTables, stream: str, seq: int, recipients: list[str]) -> None:
    """For a channel, record the audience of message ``seq`` just appended and indexed (the
    caller holds the lock) if it changed; forget records older than the index keeps."""
    if Stream(stream).owner is not None:
        return
    audience, changes = tuple(sorted(recipients)), tables.audiences[stream]
    if changes and changes[-1][1] == audience:
        return
    changes.append((seq, audience))
    oldest = _oldest_indexed(tables, stream)
    while len(changes) > 1 and changes[1][0] <= oldest:
        changes.pop(0)


def _trim_notes(tables: MemoryTables, stream: str) -> None:
    oldest = _oldest_indexed(tables, stream)
    notes = tables.notes[stream]
    for key in [key for key in notes if key[1] < oldest]:
        del notes[key]


def keep_note(
    tables: MemoryTables, stream: str, first: int, last: int, agent: str, note: Note
) -> None:
    """Keep a note (the caller holds the lock), dropping those of messages the index forgot."""
    _trim_notes(tables, stream)
    tables.notes[stream][(first, last, agent)] = note


def push_receipt(tables: MemoryTables, draft: ReceiptDraft) -> Pushed:
    """The advance's receipt step (the caller holds the lock and moved the position): append
    the receipt to its sender's inbox if the sender consumes receipts, as ``advance.lua`` does."""
    if draft.sender not in tables.receipt_consumers or draft.sender not in tables.agents:
        return Pushed()
    if draft.body is None:
        return Pushed(wanted=True)
    inbox = Stream.of_inbox(draft.sender).id
    log = tables.logs[inbox]
    log.head += 1
    log.entries.append((log.head, draft.now_ms, draft.body))
    log.trim(draft.retention, draft.now_ms)
    located = Located(inbox, log.head, draft.now_ms, draft.by, "")
    tables.index(located, draft.message_id, (INDEX_FACTOR - 1) * draft.retention.max_messages)
    signals, coalesce = (
        tables.signals[inbox],
        draft.coalesce or tables.receipt_consumers[draft.sender],
    )
    wake = not coalesce or draft.sender not in signals
    if coalesce and wake:
        signals[draft.sender] = log.head
    return Pushed(False, log.head, wake)


def receipt_wanted(tables: MemoryTables, body: str, agent: str) -> str | None:
    """The sender of the message ``body`` if handing it over to ``agent`` pushes it a receipt
    (it consumes receipts; not for a receipt, a message from ``bus`` or the agent's own), as
    ``receipt_wanted.lua`` reads it; with no consumer at all, nothing is decoded."""
    consumers = tables.receipt_consumers
    if not consumers:
        return None
    try:
        message = json.loads(body)
    except ValueError:  # a fence's lost mark, or unreadable: the reader logs it
        return None
    sender = message.get("sender") if isinstance(message, dict) else None
    if not isinstance(sender, str) or sender in (agent, "bus") or message.get("type") == "receipt":
        return None
    return sender if sender in consumers and sender in tables.agents else None


def receipt_ahead(tables: MemoryTables, agent: str, stream: str, last: int) -> Wanting | None:
    """The message after ``last`` of ``stream`` if handing it over to ``agent`` pushes a
    receipt (``Batch.ahead``; the lock held)."""
    if not tables.receipt_consumers:
        return None
    after = tables.following(stream, last, 1)
    if not after or receipt_wanted(tables, after[0][2], agent) is None:
        return None
    return Wanting(stream, after[0][0], after[0][2])


class MemoryReceipts(ReceiptStore):
    """The message-id index, audiences and notes in memory.

    Args:
        tables: The store's state.
    """

    def __init__(self, tables: MemoryTables) -> None:
        self._tables = tables

    def facts(self, message_id: str) -> DeliveryFacts | None:
        tables = self._tables
        with tables.lock:
            located = tables.located.get(message_id)
            if located is None:
                return None
            stream, seq = located.stream, located.seq
            owner = Stream(stream).owner
            if owner is not None:
                audience: tuple[str, ...] = (owner,)
            else:
                changes = tables.audiences.get(stream, [])
                at = bisect_right(changes, seq, key=lambda change: change[0]) - 1
                audience = changes[max(at, 0)][1] if changes else ()
            log = tables.logs.get(stream)
            head = 0 if log is None else log.head
            first = log.entries[0][0] if log is not None and log.entries else head + 1
            now = time.monotonic()
            members = {}
            for agent in audience:
                lease = tables.leases.get((agent, stream))
                members[agent] = MemberFacts(
                    tables.positions.get(agent, {}).get(stream),
                    lease[0] if lease is not None and lease[1] > now else None,
                    None if (run := tables.started.get((agent, stream))) is None else run[:2],
                    tables.failures.get((agent, stream)),
                )
            notes = {
                agent: note
                for (low, high, agent), note in tables.notes.get(stream, {}).items()
                if low <= seq <= high and agent in members
            }
            return DeliveryFacts(located, first, head, audience, members, notes)

    def note(
        self, stream: str, seq: int, agent: str, note: Note, receipt: ReceiptDraft | None = None
    ) -> Pushed | None:
        with self._tables.lock:
            keep_note(self._tables, stream, seq, seq, agent, note)
            return None if receipt is None else push_receipt(self._tables, receipt)

    def consume(self, agent: str, on: bool, *, hosted: bool = False) -> None:
        with self._tables.lock:
            if on:
                self._tables.receipt_consumers[agent] = hosted
            else:
                self._tables.receipt_consumers.pop(agent, None)

    def consumers(self) -> set[str]:
        with self._tables.lock:
            return set(self._tables.receipt_consumers)

    def note_skipped(
        self,
        agent: str,
        stream: str,
        first: int,
        last: int,
        at_ms: int,
        receipts: Sequence[ReceiptDraft] | None = None,
    ) -> Skipped:
        tables = self._tables
        with tables.lock:
            if receipts is None and tables.receipt_consumers:
                runs = _skip_runs(tables, agent, stream, first, last)
                if runs:
                    return Skipped(runs)
            keep_note(tables, stream, first, last, agent, Note("skipped", at_ms))
            return Skipped((), tuple(push_receipt(tables, draft) for draft in receipts or ()))


def _skip_runs(
    tables: MemoryTables, agent: str, stream: str, first: int, last: int
) -> tuple[SkipRun, ...]:
    """One run per sender of the skipped ``first`` to ``last`` that the index still knows and
    that consumes receipts, in the order of their first messages (the lock held)."""
    log = tables.logs.get(stream)
    runs: dict[str, SkipRun] = {}
    for seq, message_id in () if log is None else log.trimmed:
        located = tables.located.get(message_id)
        if not first <= seq <= last or located is None:
            continue
        sender = located.sender
        if sender in (agent, "bus") or sender not in tables.receipt_consumers:
            continue
        run = runs.get(sender)
        runs[sender] = (
            SkipRun(sender, message_id, seq, seq, 1)
            if run is None
            else SkipRun(sender, run.message_id, run.first, seq, run.messages + 1)
        )
    return tuple(runs.values())

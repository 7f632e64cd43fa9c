"""The log part of :class:`~bus.store.memory.MemoryStore` (see
:class:`~bus.store.contracts.log.LogStore`): each stream's retained entries, history, positions
and claims."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Sequence

from bus.channels import ChannelSpec, Overflow, Retention, Stream
from bus.errors import ChannelChanged, UnknownChannel, rejected
from bus.store.contracts.guards import Checks, overloaded_note
from bus.store.contracts.log import LogStore
from bus.store.memory.guards import clock_ms, run_checks
from bus.store.memory.receipts import (
    keep_note,
    push_receipt,
    receipt_ahead,
    receipt_wanted,
    record_audience,
)
from bus.store.memory.tables import MemoryTables
from bus.store.message_facts import INDEX_FACTOR, Located, Note, Traced
from bus.store.pushed import Pushed, ReceiptDraft
from bus.store.results import Appended, Batch, Dedupe, Duplicate, Entry, Guarded, Wanting


class MemoryLog(LogStore):
    """The streams' logs in memory.

    Args:
        tables: The store's state.
    """

    def __init__(self, tables: MemoryTables) -> None:
        self._tables = tables

    def append(
        self,
        stream: str,
        body: str,
        now_ms: int,
        retention: Retention,
        *,
        channel: ChannelSpec | None = None,
        dedupe: Dedupe | None = None,
        coalesce: bool = False,
        message_id: str | None = None,
        sender: str = "",
        causation_id: str | None = None,
        checks: Checks | None = None,
    ) -> Appended:
        parsed, tables = Stream(stream), self._tables
        with tables.lock:
            if channel is not None:
                self._check(channel)
            now = time.monotonic()
            if dedupe is not None:
                original = tables.dedupe.get((stream, dedupe.key))
                if original is not None and original[1] > now:
                    return Duplicate(original[0], [])
            log = tables.logs[stream]
            if channel is not None and channel.overflow is Overflow.REJECT_PUBLISH:
                last_trimmed = log.head + 1 - retention.max_messages
                lagging = [
                    member
                    for member in tables.members.get(channel.name, ())
                    if tables.positions[member].get(stream, last_trimmed) < last_trimmed
                ]
                if lagging:
                    raise rejected(channel, lagging)
            # -- guards (bus.store.contracts.guards): decided before anything is stored --
            overloaded: dict[str, tuple[int, int]] = {}
            closed = False
            recipients = self._audience(parsed)  # the lock is held: it is the append's too
            if checks is not None:
                direct = parsed.is_direct
                overloaded, closed = run_checks(tables, checks, recipients, direct, clock_ms())
            # -- end of guards --
            log.head += 1
            if dedupe is not None:
                tables.dedupe = {k: v for k, v in tables.dedupe.items() if v[1] > now}
                tables.dedupe[(stream, dedupe.key)] = (log.head, now + dedupe.window_ms / 1000)
            log.entries.append((log.head, now_ms, body))
            log.trim(retention, now_ms)
            cause = (causation_id or "") if message_id else ""
            located = Located(stream, log.head, now_ms, sender, cause)
            tables.index(located, message_id or "", (INDEX_FACTOR - 1) * retention.max_messages)
            if message_id is not None:
                record_audience(tables, stream, log.head, recipients)
            for agent, (pending, limit) in overloaded.items():
                note = Note("overloaded", now_ms, error=overloaded_note(pending, limit))
                keep_note(tables, stream, log.head, log.head, agent, note)
            appended = self._appended(stream, log.head, recipients, coalesce)
            return Guarded.of(appended, sorted(overloaded), closed)

    def _audience(self, parsed: Stream) -> list[str]:
        """Who a message appended to the stream now goes to (the caller holds the lock)."""
        owner, tables = parsed.owner, self._tables
        if owner is None:
            return list(tables.members.get(parsed.channel or "", ()))
        return [owner] if owner in tables.agents else []

    def _check(self, channel: ChannelSpec) -> None:
        stored = self._tables.channels.get(channel.name)
        if stored is None:
            raise UnknownChannel(f"no channel named {channel.name!r}", channel=channel.name)
        if stored.version != channel.version:
            raise ChannelChanged(
                f"channel {channel.name!r} changed to version {stored.version}",
                channel=channel.name,
                spec=stored,
            )

    def _appended(self, stream: str, seq: int, recipients: list[str], coalesce: bool) -> Appended:
        if not coalesce:
            return Appended(seq, recipients)
        signals = self._tables.signals[stream]
        woken = [agent for agent in recipients if agent not in signals]
        signals.update(dict.fromkeys(woken, seq))
        return Appended(seq, recipients, woken)

    def unsignal(self, stream: str, agents: Sequence[str]) -> None:
        with self._tables.lock:
            signals = self._tables.signals.get(stream, {})
            for agent in agents:
                signals.pop(agent, None)

    def history(
        self,
        stream: str,
        *,
        newest: int | None = None,
        after: int | None = None,
        since_ms: int | None = None,
    ) -> list[Entry]:
        with self._tables.lock:
            log = self._tables.logs.get(stream)
            if log is None or not log.entries:
                return []
            entries, first = log.entries, log.entries[0][0]
            start = 0 if after is None else max(0, after + 1 - first)
            if since_ms is not None and start < len(entries):
                # A binary search, as the Redis script does: append times do not go back.
                start = bisect_left(entries, since_ms, lo=start, key=lambda entry: entry[1])
            if newest is not None:
                start = max(start, len(entries) - newest)
            picked = [entries[index] for index in range(start, len(entries))]
        return [Entry(stream, seq, body) for seq, _, body in picked]

    def head(self, stream: str) -> int:
        return self._tables.head(stream)

    def retained(self, stream: str) -> int:
        log = self._tables.logs.get(stream)
        return 0 if log is None else len(log.entries)

    def position(self, agent: str, stream: str) -> int | None:
        with self._tables.lock:
            return self._tables.positions.get(agent, {}).get(stream)

    def claim(self, agent: str, stream: str) -> Entry | None:
        tables = self._tables
        with tables.lock:
            if tables.leased(agent, stream):
                return None
            found = tables.next_for(agent, stream)
            if found is None:
                tables.drained(agent, stream)
                return None
            skipped = found[0] - tables.positions[agent][stream] - 1
            tables.positions[agent][stream] = found[0]
            return Entry(stream, found[0], found[2], skipped)

    def claim_any(self, agent: str, receipt: ReceiptDraft | None = None) -> Batch:
        tables = self._tables
        with tables.lock:
            pending = []
            positions = tables.positions.get(agent, {})
            for stream in positions:
                if tables.leased(agent, stream):
                    continue
                found = tables.next_for(agent, stream)
                if found is None:
                    tables.drained(agent, stream)
                else:
                    pending.append((found[1], stream))
            if not pending:
                return Batch(True)
            stream = min(pending)[1]
            seq, _, body = tables.next_for(agent, stream) or (0, 0, "")
            skipped = seq - positions[stream] - 1
            pushed = None
            if (
                receipt is not None
                and (receipt.of_stream, receipt.of_seq) == (stream, seq)
                and receipt.body is not None
            ):  # drafted for this message, which wanted it: push_receipt reads the flag again
                pushed = Pushed() if receipt.body == "" else push_receipt(tables, receipt)
            elif receipt_wanted(tables, body, agent) is not None:  # claim it with its receipt
                return Batch(True, (Wanting(stream, seq, body, skipped),))
            positions[stream] = seq
            entry = Entry(stream, seq, body, skipped)
            return Batch(True, (entry,), pushed, receipt_ahead(tables, agent, stream, seq))

    def find(self, message_ids: Sequence[str]) -> dict[str, Traced]:
        tables, found = self._tables, {}
        with tables.lock:
            for message_id in message_ids:
                located = tables.located.get(message_id)
                if located is None:
                    continue
                stream, seq, cause = located.stream, located.seq, located.causation_id
                entry = tables.following(stream, seq - 1, 1)
                if entry and entry[0][0] == seq:
                    found[message_id] = Traced(Entry(stream, seq, entry[0][2]), cause or None)
        return found

    def placed(self, message_id: str) -> tuple[str, int] | None:
        with self._tables.lock:
            located = self._tables.located.get(message_id)
        return None if located is None else (located.stream, located.seq)

    def caused(self, message_ids: Sequence[str]) -> dict[str, list[str]]:
        with self._tables.lock:
            return {
                message_id: list(self._tables.caused.get(message_id, ()))
                for message_id in message_ids
            }

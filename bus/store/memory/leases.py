"""The lease part of :class:`~bus.store.memory.MemoryStore` (see
:class:`~bus.store.contracts.leases.LeaseStore`): leases expire on the monotonic clock, as
Redis's do."""

from __future__ import annotations

import time

from bus.store.contracts.leases import LeaseStore
from bus.store.contracts.liveness import token_worker
from bus.store.memory.receipts import keep_note, push_receipt, receipt_ahead, receipt_wanted
from bus.store.memory.tables import MemoryTables
from bus.store.message_facts import Note
from bus.store.pushed import (
    Pushed,
    ReceiptDraft,
)
from bus.store.results import Batch, Entry, Failure, Lag, Step, Wanting


class MemoryLeases(LeaseStore):
    """Leases, failures and backlogs in memory.

    Args:
        tables: The store's state.
    """

    def __init__(self, tables: MemoryTables) -> None:
        self._tables = tables

    def begin(self, agent: str, stream: str, token: str, ttl_ms: int, upto: int) -> Step:
        tables = self._tables
        now = time.monotonic()
        with tables.lock:
            blocked, holder = tables.holder(agent, stream, token)
            if blocked:
                return Step(False, holder=holder)
            found = tables.next_for(agent, stream)
            if found is None or found[0] > upto:
                tables.leases.pop((agent, stream), None)
                if found is None:
                    tables.drained(agent, stream)
                return Step(True, holder=holder)
            tables.leases[(agent, stream)] = (token, now + ttl_ms / 1000)
            self._started(agent, stream, token, found[0])
            entry = Entry(
                stream, found[0], found[2], found[0] - tables.positions[agent][stream] - 1
            )
            failure = tables.failures.get((agent, stream))
            if failure is None or failure[0] != found[0]:
                return Step(True, entry, holder=holder)
            return Step(True, entry, Failure(failure[1], failure[2]), holder)

    def _started(self, agent: str, stream: str, token: str, seq: int) -> None:
        """Note the run of ``token`` on ``seq``; one that takes over a run of a worker no
        longer alive on the same message counts that run as a failed attempt (the lock held)."""
        tables = self._tables
        started = tables.started.get((agent, stream))
        if started is not None and started[0] == seq and started[2] == token:
            return
        now_ms = int(time.time() * 1000)
        tables.started[(agent, stream)] = (seq, now_ms, token)
        lost = token_worker(started[2]) if started is not None and started[0] == seq else None
        if lost is None or tables.alive(lost):
            return
        previous = tables.failures.get((agent, stream))
        attempts, not_before = 1, 0
        if previous is not None and previous[0] == seq:
            attempts, not_before = previous[1] + 1, previous[2]
        tables.failures[(agent, stream)] = (seq, attempts, not_before)
        note = Note("failed", now_ms, attempts, f"worker {lost} was lost while handling it")
        keep_note(tables, stream, seq, seq, agent, note)

    def advance(
        self,
        agent: str,
        stream: str,
        token: str,
        ttl_ms: int,
        seq: int,
        upto: int,
        receipt: ReceiptDraft | None = None,
    ) -> Step:
        tables = self._tables
        with tables.lock:
            held = tables.leases.get((agent, stream))
            if held is not None and held[0] != token and held[1] > time.monotonic():
                # Lapsed and taken over: the new owner has the order, alive or not.
                return Step(False, holder=tables.holder(agent, stream, token)[1])
            positions = tables.positions.get(agent, {})
            position = positions.get(stream)
            moves = position is not None and position < seq
            # Pushed receipts (issue 17): in the commit's own step, only if it moves.
            pushed = None if receipt is None else Pushed()
            if receipt is not None and moves:
                pushed = push_receipt(tables, receipt)
                if pushed.wanted:
                    return Step(True, pushed=pushed)
            if moves:
                positions[stream] = seq
                tables.failures.pop((agent, stream), None)
            return self.begin(agent, stream, token, ttl_ms, upto).with_pushed(pushed)

    def take(
        self,
        agent: str,
        stream: str,
        token: str,
        ttl_ms: int,
        commit: int,
        limit: int,
        receipt: ReceiptDraft | None = None,
    ) -> Batch:
        tables = self._tables
        now = time.monotonic()
        with tables.lock:
            if tables.holder(agent, stream, token)[0]:
                return Batch(False)
            positions = tables.positions.get(agent, {})
            position = positions.get(stream)
            if position is not None and commit > position:
                positions[stream] = position = commit
            found = (
                [] if position is None or limit <= 0 else tables.following(stream, position, limit)
            )
            if not found:
                tables.leases.pop((agent, stream), None)
                if position is not None and limit > 0:
                    tables.drained(agent, stream)
                return Batch(True)
            first, skipped = found[0][0], found[0][0] - (position or 0) - 1
            # Pushed receipts (issue 17): the hand-over pushes one if the sender consumes them.
            pushed = None
            if receipt is not None and receipt.of_seq == first and receipt.body is not None:
                # Drafted for this message, which wanted it: push_receipt reads the flag again.
                pushed = Pushed() if receipt.body == "" else push_receipt(tables, receipt)
            elif receipt_wanted(tables, found[0][2], agent) is not None:
                return Batch(True, (Wanting(stream, first, found[0][2], skipped),))
            for index in range(1, len(found)):  # the next wanting one is a call's first
                if receipt_wanted(tables, found[index][2], agent) is not None:
                    found = found[:index]
                    break
            positions[stream] = first
            if len(found) > 1:
                tables.leases[(agent, stream)] = (token, now + ttl_ms / 1000)
            else:
                tables.leases.pop((agent, stream), None)
            return Batch(
                True,
                tuple(
                    Entry(stream, seq, body, skipped if not index else 0)
                    for index, (seq, _, body) in enumerate(found)
                ),
                pushed,
                receipt_ahead(tables, agent, stream, found[-1][0]),
            )

    def release_lease(self, agent: str, stream: str, token: str) -> None:
        tables = self._tables
        with tables.lock:
            held = tables.leases.get((agent, stream))
            if held is not None and held[0] == token:
                del tables.leases[(agent, stream)]
            started = tables.started.get((agent, stream))
            if started is not None and started[2] == token:  # given up, not lost: no attempt
                del tables.started[(agent, stream)]

    def renew_lease(self, agent: str, stream: str, token: str, ttl_ms: int) -> bool:
        tables = self._tables
        now = time.monotonic()
        with tables.lock:
            held = tables.leases.get((agent, stream))
            if held is None or held[0] != token or held[1] <= now:
                return False
            tables.leases[(agent, stream)] = (token, now + ttl_ms / 1000)
            return True

    def record_failure(
        self,
        agent: str,
        stream: str,
        seq: int,
        not_before_ms: int,
        error: str | None = None,
        token: str | None = None,
    ) -> int:
        tables = self._tables
        with tables.lock:
            if token is not None:
                held = tables.leases.get((agent, stream))
                position = tables.positions.get(agent, {}).get(stream)
                if held is not None and held[0] != token and held[1] > time.monotonic():
                    return 0  # another run's now
                if position is not None and position >= seq:
                    return 0  # committed already
            previous = tables.failures.get((agent, stream))
            attempts = previous[1] + 1 if previous is not None and previous[0] == seq else 1
            tables.failures[(agent, stream)] = (seq, attempts, not_before_ms)
            note = Note("failed", int(time.time() * 1000), attempts, error)
            keep_note(tables, stream, seq, seq, agent, note)
            return attempts

    def backlog(self, agent: str) -> list[Lag]:
        tables = self._tables
        with tables.lock:
            return sorted(
                Lag(stream, position, head)
                for stream, position in tables.positions.get(agent, {}).items()
                if (head := tables.head(stream)) > position
            )

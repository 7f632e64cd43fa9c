"""The lease part of :class:`~bus.store.redis.RedisStore` (see
:class:`~bus.store.contracts.leases.LeaseStore`): what a worker needs to run an agent's handlers
for a stream in order."""

from __future__ import annotations

import time
from typing import Any

from bus.channels import Stream
from bus.store.contracts.leases import LeaseStore
from bus.store.contracts.liveness import token_worker
from bus.store.message_facts import INDEX_FACTOR
from bus.store.pushed import (
    Pushed,
    ReceiptDraft,
)
from bus.store.redis.key_names import Keys
from bus.store.redis.namespace import RedisNamespace
from bus.store.results import Batch, Entry, Failure, Holder, Lag, Step, Wanting


def _holder(reply: list[Any]) -> Holder:
    """Who holds the lease, from a step's ``{0, holding token, ms it lasts}``."""
    return Holder(token_worker(reply[1]), max(0, int(reply[2])))


def _parsed(stream: str, reply: list[Any]) -> Step:
    """A :class:`Step` from ``step.lua``'s reply."""
    if not reply[0]:
        return Step(False, holder=_holder(reply))
    dead = Holder(reply[1]) if reply[1] else None
    if len(reply) == 2:
        return Step(True, holder=dead)
    failure = Failure(int(reply[5]), int(reply[6])) if int(reply[5]) >= 0 else None
    raw = reply[3]
    entry = Entry(stream, int(reply[2]), raw[raw.index(":") + 1 :], int(reply[4]), reply[7] or None)
    return Step(True, entry, failure, dead)


def receipt_keys_args(keys: Keys, receipt: ReceiptDraft) -> tuple[list[str], list[Any]]:
    """The KEYS and ARGV ``push_receipt.lua`` takes for a receipt, the consumers key first
    (pushed receipts, issue 17): as ``advance.lua``, ``take.lua`` and ``note_skipped.lua``
    pass them."""
    inbox, retention = Stream.of_inbox(receipt.sender).id, receipt.retention
    max_age = retention.max_age_seconds
    return (
        [
            keys.receipt_consumers,
            keys.log(inbox),
            keys.indexed(inbox),
            keys.trimmed(inbox),
            keys.located,
            keys.caused,
            keys.signals(inbox),
        ],
        [
            receipt.sender,
            inbox,
            receipt.by,
            receipt.message_id,
            receipt.body or "",
            receipt.now_ms,
            retention.max_messages,
            "" if max_age is None else int(max_age * 1000),
            (INDEX_FACTOR - 1) * retention.max_messages,
            "coalesce" if receipt.coalesce else "",
        ],
    )


class RedisLeases(LeaseStore):
    """Leases, failures and backlogs in Redis.

    Args:
        space: The store's namespace on its server.
    """

    def __init__(self, space: RedisNamespace) -> None:
        self._keys = space.keys
        self._run = space.run
        self._epochs = space.epochs
        self._space = space

    def _step(
        self,
        script: str,
        agent: str,
        stream: str,
        args: list[Any],
        more: tuple[list[str], list[Any]] = ([], []),
    ) -> list[Any]:
        """Run ``begin`` or ``advance`` (``more``: the receipt's KEYS and ARGV); its reply."""
        keys = self._keys
        # A commit (advance) waits for the replicas with BUS_STORE_MIN_REPLICAS (run_moving).
        run = self._space.run_moving if script == "advance" else self._run
        reply: list[Any] = run(
            script,
            [
                keys.lease(agent, stream),
                keys.positions(agent),
                keys.heads,
                keys.log(stream),
                keys.failures(agent),
                keys.epoch,
                keys.signals(stream),
                keys.alive,
                keys.started(stream),
                keys.notes(stream),
                keys.trimmed(stream),
                keys.indexed(stream),
                keys.located,
                *more[0],
            ],
            [stream, *args, *more[1], agent],
        )
        return reply

    def _handed(self, stream: str, reply: list[Any]) -> Step:
        """The step of ``reply``; the entry it hands over is remembered as seen, so that a
        failover that loses it is not silent (fencing, issue 20)."""
        step = _parsed(stream, reply)
        if step.entry is not None:
            self._epochs.saw(stream, step.entry.seq)
        return step

    def begin(self, agent: str, stream: str, token: str, ttl_ms: int, upto: int) -> Step:
        args = [token, ttl_ms, upto, self._epochs.arg]
        return self._handed(stream, self._step("begin", agent, stream, args))

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
        args = [token, ttl_ms, upto, self._epochs.arg, seq]
        if receipt is None:
            return self._handed(stream, self._step("advance", agent, stream, args)[3:])
        reply = self._step("advance", agent, stream, args, receipt_keys_args(self._keys, receipt))
        if int(reply[0]) == 2:
            return Step(True, pushed=Pushed(wanted=True))
        step = self._handed(stream, reply[3:])
        return step.with_pushed(Pushed(False, int(reply[1]), bool(int(reply[2]))))

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
        keys = self._keys
        more: tuple[list[str], list[Any]] = ([keys.receipt_consumers], [])
        if receipt is not None and receipt.body is not None:
            receipt_keys, receipt_args = receipt_keys_args(self._keys, receipt)
            more = (receipt_keys, [receipt.of_seq, *receipt_args])
        reply = self._space.run_moving(
            "take",
            [
                keys.lease(agent, stream),
                keys.positions(agent),
                keys.heads,
                keys.log(stream),
                keys.epoch,
                keys.signals(stream),
                keys.alive,
                *more[0],
            ],
            [stream, token, ttl_ms, commit, limit, self._epochs.arg, agent, *more[1]],
        )
        if not reply[0]:
            return Batch(False)
        if len(reply) == 1:
            return Batch(True)
        first, skipped = int(reply[1]), int(reply[2])
        if int(reply[0]) == 2:  # its sender consumes receipts: take it again with one
            raw = reply[3]
            return Batch(True, (Wanting(stream, first, raw[raw.index(":") + 1 :], skipped),))
        pushed = None if receipt is None else Pushed(False, int(reply[3]), bool(int(reply[4])))
        ahead = reply[6]
        return Batch(
            True,
            tuple(
                Entry(stream, first + index, raw[raw.index(":") + 1 :], skipped if not index else 0)
                for index, raw in enumerate(reply[7:])
            ),
            pushed,
            Wanting(stream, int(reply[5]), ahead[ahead.index(":") + 1 :]) if ahead else None,
        )

    def release_lease(self, agent: str, stream: str, token: str) -> None:
        keys = self._keys
        self._run(
            "release_lease", [keys.lease(agent, stream), keys.started(stream)], [token, agent]
        )

    def renew_lease(self, agent: str, stream: str, token: str, ttl_ms: int) -> bool:
        return bool(self._run("renew_lease", [self._keys.lease(agent, stream)], [token, ttl_ms]))

    def record_failure(
        self,
        agent: str,
        stream: str,
        seq: int,
        not_before_ms: int,
        error: str | None = None,
        token: str | None = None,
    ) -> int:
        keys = self._keys
        fence = (
            ([], [])
            if token is None
            else ([keys.lease(agent, stream), keys.positions(agent)], [token])
        )
        return int(
            self._run(
                "record_failure",
                [
                    keys.failures(agent),
                    keys.notes(stream),
                    keys.trimmed(stream),
                    keys.indexed(stream),
                    keys.heads,
                    *fence[0],
                ],
                [
                    stream,
                    seq,
                    not_before_ms,
                    agent,
                    error or "",
                    int(time.time() * 1000),
                    *fence[1],
                ],
            )
        )

    def backlog(self, agent: str) -> list[Lag]:
        flat = self._run("backlog", [self._keys.positions(agent), self._keys.heads], [])
        return sorted(
            Lag(flat[i], int(flat[i + 1]), int(flat[i + 2])) for i in range(0, len(flat), 3)
        )

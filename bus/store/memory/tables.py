"""The state of a :class:`~bus.store.memory.MemoryStore`: one lock and the tables under it.

Every part of the store works on one :class:`MemoryTables`; the reads two parts share (the next
message after a position, whether a lease is held, a drained stream's signal) are its methods.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from bus.channels import ChannelSpec, Retention
from bus.store.contracts.guards import AgentLimits
from bus.store.contracts.liveness import token_worker
from bus.store.message_facts import Located, Note
from bus.store.results import Holder


@dataclass
class StreamLog:
    """One stream's log in memory: its head and retained entries."""

    head: int = 0
    #: ``(seq, append ms, json)``, oldest first; seqs are contiguous.
    entries: deque[tuple[int, int, str]] = field(default_factory=deque)
    #: ``(message id or "", causation id or "")`` of the newest entries, oldest first: what the
    #: causation index holds for them, dropped with them (:meth:`MemoryTables.unindex`).
    indexed: deque[tuple[str, str]] = field(default_factory=deque)
    #: ``(seq, message id)`` of indexed messages retention trimmed, oldest first: the index
    #: keeps their ids a while longer, for receipts (:data:`~bus.store.message_facts.INDEX_FACTOR`).
    trimmed: deque[tuple[int, str]] = field(default_factory=deque)

    def oldest_indexed(self) -> int:
        """The seq of the oldest message the index still knows (``head + 1``: none)."""
        return self.trimmed[0][0] if self.trimmed else self.head - len(self.indexed) + 1

    def trim(self, retention: Retention, now_ms: int) -> None:
        while len(self.entries) > retention.max_messages:
            self.entries.popleft()
        if retention.max_age_seconds is not None:
            cutoff = now_ms - int(retention.max_age_seconds * 1000)
            while self.entries and self.entries[0][1] < cutoff:
                self.entries.popleft()

    def after(self, seq: int) -> tuple[int, int, str] | None:
        if not self.entries or self.entries[-1][0] <= seq:
            return None
        first = self.entries[0][0]
        return self.entries[max(seq + 1 - first, 0)]

    def following(self, seq: int, limit: int) -> list[tuple[int, int, str]]:
        """Up to ``limit`` entries after ``seq``, oldest first."""
        if not self.entries or self.entries[-1][0] <= seq:
            return []
        entries = self.entries
        start = max(seq + 1 - entries[0][0], 0)
        return [entries[index] for index in range(start, min(start + limit, len(entries)))]


class MemoryTables:
    """Everything one in-process store holds, and the lock its parts take to change it.

    Reply boxes have a lock of their own (a condition that waiters sleep on), so a caller
    waiting for a reply never holds up the registry or the logs.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        #: Guards the reply boxes; notified when a reply arrives.
        self.replies_changed = threading.Condition(threading.Lock())
        self.clear()

    def clear(self) -> None:
        """Forget everything (the epoch too)."""
        with self.lock:
            self.channels: dict[str, ChannelSpec] = {}
            self.agents: set[str] = set()
            self.members: defaultdict[str, set[str]] = defaultdict(set)
            self.logs: defaultdict[str, StreamLog] = defaultdict(StreamLog)
            #: agent -> stream -> last seq handed over
            self.positions: defaultdict[str, dict[str, int]] = defaultdict(dict)
            #: (agent, stream) -> (token, expires at, monotonic seconds)
            self.leases: dict[tuple[str, str], tuple[str, float]] = {}
            #: (agent, stream) -> (seq, attempts, not_before_ms)
            self.failures: dict[tuple[str, str], tuple[int, int, int]] = {}
            #: (stream, idempotency key) -> (seq, forgotten at, monotonic seconds)
            self.dedupe: dict[tuple[str, str], tuple[int, float]] = {}
            #: stream -> agent -> the seq whose delivery is outstanding (coalesced deliveries)
            self.signals: defaultdict[str, dict[str, int]] = defaultdict(dict)
            #: message id -> where it is (the message index: retained messages, and for a while
            #: trimmed ones, see :attr:`StreamLog.trimmed`)
            self.located: dict[str, Located] = {}
            #: causation id -> the ids of the retained messages it caused (insertion-ordered)
            self.caused: defaultdict[str, dict[str, None]] = defaultdict(dict)
            #: worker -> (alive until, monotonic seconds; last seen, epoch ms; agents hosted)
            self.workers: dict[str, tuple[float, int, tuple[str, ...]]] = {}
            self.epoch: str | None = None
            #: stream -> (from seq, members) each time its audience changed, oldest first
            self.audiences: defaultdict[str, list[tuple[int, tuple[str, ...]]]] = defaultdict(list)
            #: stream -> (first seq, last seq, agent) -> what went otherwise (receipts)
            self.notes: defaultdict[str, dict[tuple[int, int, str], Note]] = defaultdict(dict)
            #: (agent, stream) -> (seq, epoch ms, token): the message its run last started on,
            #: when, and the run's lease token (a takeover of a dead worker's run counts it)
            self.started: dict[tuple[str, str], tuple[int, int, str]] = {}
            #: agent -> whether it is hosted, for each agent that consumes pushed receipts (its
            #: registry flag)
            self.receipt_consumers: dict[str, bool] = {}
            #: (sender, target) -> (tokens, last ms, open until ms or 0): the guards' buckets
            self.circuits: dict[tuple[str, str], tuple[float, int, int]] = {}
            #: agent -> (window start ms, tokens, cost): its spend in its last budget window
            self.spend: dict[str, tuple[int, int, float]] = {}
            #: agent -> its own limits (bus.store.contracts.guards.AgentLimits)
            self.limits: dict[str, AgentLimits] = {}
        with self.replies_changed:
            #: correlation id -> (responder, expires at, monotonic seconds)
            self.waiters: dict[str, tuple[str, float]] = {}
            #: correlation id -> (replies that arrived, expires at)
            self.boxes: dict[str, tuple[deque[str], float]] = {}
            #: cause id -> the replies handed to a waiting requester that it caused
            self.answers: dict[str, list[str]] = {}
            #: reply id -> the cause it is kept under
            self.answer_of: dict[str, str] = {}
            #: (cause id, reply id) of what is kept, oldest first
            self.answered: deque[tuple[str, str]] = deque()

    def index(self, located: Located, message_id: str, keep_trimmed: int) -> None:
        """Index the entry just appended (``located``), then move what its stream's trim
        dropped out of :attr:`caused`, keeping the last ``keep_trimmed`` of their ids."""
        log = self.logs[located.stream]
        log.indexed.append((message_id, located.causation_id))
        if message_id and message_id not in self.located:  # a copy keeps the first place
            self.located[message_id] = located
            if located.causation_id:
                self.caused[located.causation_id][message_id] = None
        while len(log.indexed) > len(log.entries):
            seq = log.head - len(log.indexed) + 1
            gone, cause = log.indexed.popleft()
            if gone:
                log.trimmed.append((seq, gone))
                children = self.caused.get(cause)
                if children is not None:
                    children.pop(gone, None)
                    if not children:
                        del self.caused[cause]
        while len(log.trimmed) > keep_trimmed:
            self.located.pop(log.trimmed.popleft()[1], None)

    def head(self, stream: str) -> int:
        """The stream's last seq (0: nothing appended)."""
        log = self.logs.get(stream)
        return 0 if log is None else log.head

    def next_for(self, agent: str, stream: str) -> tuple[int, int, str] | None:
        """The retained entry after the agent's position (``None``: none, or not a reader)."""
        position = self.positions.get(agent, {}).get(stream)
        log = self.logs.get(stream)
        return None if position is None or log is None else log.after(position)

    def following(self, stream: str, seq: int, limit: int) -> list[tuple[int, int, str]]:
        """Up to ``limit`` retained entries after ``seq``."""
        log = self.logs.get(stream)
        return [] if log is None else log.following(seq, limit)

    def alive(self, worker: str) -> bool:
        """Whether ``worker``'s liveness record has not lapsed."""
        record = self.workers.get(worker)
        return record is not None and record[0] > time.monotonic()

    def holder(self, agent: str, stream: str, token: str) -> tuple[bool, Holder | None]:
        """Whether another token holds the agent's lease on ``stream``, and who: the holder
        that keeps ``token`` out, or the worker no longer alive whose lease is free to take."""
        held = self.leases.get((agent, stream))
        now = time.monotonic()
        if held is None or held[0] == token or held[1] <= now:
            return False, None
        worker = token_worker(held[0])
        if worker is not None and not self.alive(worker):
            return False, Holder(worker)
        return True, Holder(worker, max(1, int((held[1] - now) * 1000)))

    def leased(self, agent: str, stream: str) -> bool:
        """Whether a lease on the agent's stream is held and not expired."""
        held = self.leases.get((agent, stream))
        return held is not None and held[1] > time.monotonic()

    def drained(self, agent: str, stream: str) -> None:
        """The agent found nothing pending on ``stream``: its next message wakes it."""
        signals = self.signals.get(stream)
        if signals:
            signals.pop(agent, None)

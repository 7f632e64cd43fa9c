"""What a pull reader holds: batches of an agent's messages taken from the log under leases.

A receive that finds several messages of a stream pending takes up to ``batch`` of them in one
store call (:meth:`~bus.store.LeaseStore.take`): the first is handed over at once, the rest
are held here under the agent's lease on the stream and handed over by the following receives
with no store call. What was handed over from a batch is committed by the next call for that
stream, or by :meth:`Held.settle` before the reader waits or claims across streams, so a batch
costs one or two round trips instead of one per message.

If the process dies holding a batch, the lease lapses (``lease_seconds``) and the next reader
takes the uncommitted messages again: nothing is lost, and at most the messages handed over
since the last commit are handed over a second time (at least once, like a consumer that died
before acknowledging). A batch of 1 behaves like :meth:`~bus.store.contracts.log.LogStore.claim`.

Pushed receipts (issue 17): a message whose sender consumes receipts is handed over only by
the take that appends its receipt (the store answers :class:`~bus.store.Wanting` to a take
without it; :meth:`Held.take` then drafts it, signed with auth on, and takes again), and a
batch ends before the next such message, so each hand-over pushes its receipt in the step
that moves the position past it. A take names such a message right after its batch
(``Batch.ahead``): its receipt is drafted then and given to the next take, so a steady stream
needs no retake. A claim across streams (:meth:`Held.claim_any`) does the same: it carries
the receipt drafted ahead in the stream it claimed from last.
"""

from __future__ import annotations

from collections import deque
from time import monotonic
from uuid import uuid4

from bus.channels import Retention
from bus.reading.receipt_drafts import ReceiptDrafts
from bus.reading.receipt_messages import Outgoing
from bus.store import Batch, Entry, ReceiptDraft, Store

#: Retakes of a message whose sender wants a receipt that another reader of the agent took.
CLAIM_RETRIES = 3


class Held:
    """The batches one inbox holds, and the newest seq it handed over per stream.

    Args:
        agent: Whose messages.
        batch: Messages taken per store call (1: one at a time, nothing held).
        lease_seconds: How long a batch is held for the inbox; held messages are handed over
            only within the first half of it, after which the batch is taken afresh.
    """

    def __init__(
        self,
        agent: str,
        batch: int,
        lease_seconds: float,
        receipts: ReceiptDrafts | None = None,
    ) -> None:
        self.agent = agent
        #: Drafts the receipts of hand-overs (``None``: none is pushed, the message goes on).
        self._receipts = receipts
        self.batch = batch
        self._ttl_ms = max(1, int(lease_seconds * 1000))
        self._fresh_for = lease_seconds / 2
        self._token = uuid4().hex
        #: stream -> the messages held, oldest first, and when their lease was taken.
        self._held: dict[str, tuple[deque[Entry], float]] = {}
        #: stream -> the newest seq handed over (committed or not).
        self.handed: dict[str, int] = {}
        #: stream -> the newest seq handed over that the store has as the position.
        self._committed: dict[str, int] = {}
        #: stream -> the receipt drafted for the message after what was taken (Batch.ahead).
        self._ahead: dict[str, Outgoing] = {}
        #: The stream of the last message :meth:`claim_any` handed over.
        self._last_claimed: str | None = None

    def stale(self, stream: str, seq: int) -> bool:
        """Whether a delivery at ``seq`` signals nothing new: handed over or held already."""
        if seq <= self.handed.get(stream, 0):
            return True
        held = self._held.get(stream)
        return held is not None and bool(held[0]) and seq <= held[0][-1].seq

    def hand(self, entry: Entry, *, committed: bool = True) -> Entry:
        """Note ``entry`` as handed over (``committed``: the store moved the position)."""
        if entry.seq > self.handed.get(entry.stream, 0):
            self.handed[entry.stream] = entry.seq
        if committed and entry.seq > self._committed.get(entry.stream, 0):
            self._committed[entry.stream] = entry.seq
        return entry

    def next(self, store: Store, stream: str | None) -> Entry | None:
        """The next held message (of ``stream``, if given), handed over; a batch held for
        longer than half its lease is taken afresh first."""
        for known, (entries, since) in list(self._held.items()):
            if stream is not None and known != stream:
                continue
            if not entries:
                continue
            if monotonic() - since > self._fresh_for:
                return self.take(store, known)
            entry = entries.popleft()
            if not entries:
                del self._held[known]
            return self.hand(entry, committed=False)
        return None

    def take(self, store: Store, stream: str) -> Entry | None:
        """Commit what was handed over of ``stream``, then take its next batch: the first
        message is handed over, the rest held. ``None`` if nothing is pending there or another
        reader of the agent holds the stream."""
        self._held.pop(stream, None)
        batch = self._take(store, stream)
        if not batch.held or not batch.entries:
            if batch.held:
                self._mark_committed(stream)
            return None
        first, *rest = batch.entries
        self._mark_committed(stream)
        if rest:
            self._held[stream] = (deque(rest), monotonic())
        return self.hand(first)

    def claim_any(self, store: Store) -> Entry | None:
        """:meth:`~bus.store.contracts.log.LogStore.claim_any` for the agent, handed over; a
        message whose sender wants a receipt is claimed again with it. The receipt drafted
        ahead for the stream of the last claim goes with the claim: a steady stream needs no
        second step. If another reader of the agent moves the message on in between, the claim
        is made again, a few times, then left to a later one."""
        last = self._last_claimed
        out = None if last is None else self._ahead.pop(last, None)
        for _ in range(CLAIM_RETRIES + 1):
            batch = store.log.claim_any(self.agent, None if out is None else out.draft)
            if not batch.entries:
                return None
            entry = batch.entries[0]
            if not entry.wants_receipt:
                break
            out = self._hand_over(entry)
        else:
            return None
        if out is not None and batch.pushed is None and out.draft.of_stream != entry.stream:
            self._ahead.setdefault(out.draft.of_stream, out)  # for a later claim of its stream
        self._pushed(out, batch)
        self._last_claimed = entry.stream
        return entry

    def _hand_over(self, wanting: Entry) -> Outgoing:
        """The receipt of handing ``wanting`` over (an empty draft: the store pushes none)."""
        if self._receipts is None:
            seq, stream = wanting.seq, wanting.stream
            return Outgoing(
                ReceiptDraft("", "", "", "", 0, Retention(), of_seq=seq, of_stream=stream)
            )
        return self._receipts.hand_over(self.agent, wanting)

    def _pushed(self, out: Outgoing | None, batch: Batch) -> None:
        """After a step that handed over: wake the sender of the receipt it pushed, and draft
        the receipt of the message it named ahead."""
        if self._receipts is None:
            return
        if out is not None and batch.pushed is not None:
            self._receipts.wake(out, batch.pushed)
        if batch.ahead is not None:
            self._ahead[batch.ahead.stream] = self._receipts.hand_over(self.agent, batch.ahead)

    def _take(self, store: Store, stream: str) -> Batch:
        """The store's take, again with the receipt of the message it did not hand over (its
        sender consumes receipts) until it hands one over; the receipt's sender woken."""
        commit, out = self.handed.get(stream, 0), self._ahead.pop(stream, None)
        batch = store.leases.take(
            self.agent,
            stream,
            self._token,
            self._ttl_ms,
            commit,
            self.batch,
            None if out is None else out.draft,
        )
        while batch.entries and batch.entries[0].wants_receipt:
            out = self._hand_over(batch.entries[0])
            batch = store.leases.take(
                self.agent, stream, self._token, self._ttl_ms, commit, self.batch, out.draft
            )
        self._pushed(out, batch)
        return batch

    def newest(self, stream: str) -> int:
        """The newest seq known of ``stream``: held, or else handed over."""
        held = self._held.get(stream)
        if held is not None and held[0]:
            return held[0][-1].seq
        return self.handed.get(stream, 0)

    def _mark_committed(self, stream: str) -> None:
        if stream in self.handed:
            self._committed[stream] = max(self._committed.get(stream, 0), self.handed[stream])

    @property
    def unsettled(self) -> bool:
        """Whether a batch is held or handed over but not committed."""
        return bool(self._held) or any(
            seq > self._committed.get(stream, 0) for stream, seq in self.handed.items()
        )

    def settle(self, store: Store) -> None:
        """Commit what was handed over and give every lease up; what was held and not handed
        over goes back to the log for the next receive (or another reader)."""
        streams = set(self._held)
        streams.update(s for s, seq in self.handed.items() if seq > self._committed.get(s, 0))
        for stream in sorted(streams):
            self._held.pop(stream, None)
            store.leases.take(
                self.agent, stream, self._token, self._ttl_ms, self.handed.get(stream, 0), 0
            )
            self._mark_committed(stream)

    def forget(self) -> None:
        """Drop everything (the store lost its state: seqs restart)."""
        self._held.clear()
        self.handed.clear()
        self._committed.clear()
        self._ahead.clear()
        self._last_claimed = None

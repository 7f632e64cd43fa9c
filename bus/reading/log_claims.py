"""Pull receive, the log side: what one inbox knows of its agent's streams, and the claims it
makes straight from the store's log by it.

A delivery only signals that a stream has something (see :mod:`bus.reading.inbox`), and some
never come: a publisher died between append and publish, a consumer of the agent died holding
them, a filtered receive dropped them, or coalesced deliveries wake the agent once per burst.
:class:`LogClaims` remembers the streams known to be behind and whether the log was read dry,
and claims from them before the inbox waits on the broker. It claims through the inbox's
:class:`~bus.reading.held.Held`, so held batches and receipts work the same either way.
"""

from __future__ import annotations

from bus.reading.held import Held
from bus.store import Entry, Store

#: A stream marked behind with this is read until the store finds it drained.
UNTIL_DRAINED = 2**62


class LogClaims:
    """What one inbox knows of its agent's streams, and its claims from the log.

    Args:
        held: The inbox's batches, which every claim goes through.
        coalesced: Whether deliveries are coalesced: one wakes the agent per burst, so a
            stream marked behind is read until the store finds it drained (which clears the
            agent's signal there).
    """

    def __init__(self, held: Held, coalesced: bool) -> None:
        self._held = held
        self._coalesced = coalesced
        #: Streams known to hold more for this agent than it has claimed: stream -> newest seq.
        self._behind: dict[str, int] = {}
        #: Streams whose log was read dry by this inbox (``None``: all the agent's streams).
        #: Until then a receive claims from the log before waiting: the deliveries of what is
        #: pending may never come (a consumer of the agent died holding them, and Redis hides
        #: unacknowledged deliveries for the visibility timeout).
        self._caught_up: set[str | None] = set()

    def forget(self) -> None:
        """Drop what is known of the agent's streams (the store lost it: seqs restart)."""
        self._behind.clear()
        self._caught_up.clear()

    def mark_behind(self, stream: str, seq: int) -> None:
        """Note that ``stream`` holds messages for the agent up to ``seq`` at least."""
        if self._coalesced:
            seq = UNTIL_DRAINED
        self._behind[stream] = max(self._behind.get(stream, 0), seq)

    def note_taken(self, stream: str, seq: int) -> None:
        """Note that a take for a delivery at ``seq`` of ``stream`` handed a message over: the
        stream is behind if the take handed over less than ``seq`` (and always with coalesced
        deliveries, one per burst)."""
        if self._coalesced or self._held.newest(stream) < seq:
            self.mark_behind(stream, seq)

    def _claim(self, store: Store, stream: str | None) -> Entry | None:
        if stream is not None:
            return self._held.take(store, stream)
        self._held.settle(store)  # claim_any passes over streams under a lease, ours too
        entry = self._held.claim_any(store)
        if entry is None:
            return None
        if self._held.batch > 1:
            self.mark_behind(entry.stream, entry.seq + 1)  # more may follow: take a batch
        return self._held.hand(entry)

    def from_log(self, store: Store, stream: str | None) -> Entry | None:
        """Claim straight from the log: first from streams known to be behind, then, until the
        log was once read dry, from any stream."""
        held = self._held.next(store, stream)
        if held is not None:
            return held
        for known, newest in list(self._behind.items()):
            if stream is not None and known != stream:
                continue
            entry = self._held.take(store, known)
            if entry is None or self._held.newest(known) >= newest:
                del self._behind[known]
            if entry is not None:
                return entry
        if None in self._caught_up or stream in self._caught_up:
            return None
        claimed = self._claim(store, stream)
        if claimed is None:
            self._caught_up.add(stream)
        return claimed

    def claim_missed(self, store: Store, stream: str | None) -> Entry | None:
        """Claim a message whose delivery never came (as a receive does after a wait that
        brought nothing); if one is found, more may be pending: the log is no longer dry."""
        claimed = self._claim(store, stream)
        if claimed is not None:
            self._caught_up.difference_update((None, stream))  # more may be pending
        return claimed

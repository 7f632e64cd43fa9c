"""Fencing after a failover (see :class:`~bus.store.contracts.epochs.EpochStore`): a promoted
replica that lacks appends a client saw acknowledged is found by comparing each stream's head
with the highest seq this process saw on it (:class:`~bus.store.redis.watch.EpochWatch`); the
lost seqs are burnt and recorded in one step (``fence.lua``) and logged at ERROR, so a seq is
never given to a different message and no loss goes unreported."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import cast

from bus.store.redis.namespace import RedisNamespace
from bus.store.results import Fence

logger = logging.getLogger(__name__)

#: Marks a fence keeps at most (a loss larger than this keeps only the newest; retention would
#: trim older entries anyway).
MARKS = 10_000


class Fencing:
    """Puts fences up, and lists those put up.

    Args:
        space: The store's namespace on its server.
    """

    def __init__(self, space: RedisNamespace) -> None:
        self._space = space
        #: Who noticed, in the records: this process (host and pid).
        self._by = f"{socket.gethostname()}:{os.getpid()}"

    def fence(self, stream: str, head: int | None = None) -> Fence | None:
        """Burn the seqs of ``stream`` above its head up to the highest one seen; ``None`` if
        the head is not below it (``head``: what the caller found, for the log)."""
        seen = self._space.epochs.acknowledged.get(stream)
        if seen is None or (head is not None and head >= seen):
            return None
        keys, now = self._space.keys, int(time.time() * 1000)
        lost = self._space.run(
            "fence",
            [keys.heads, keys.log(stream), keys.indexed(stream), keys.fences, keys.epoch],
            [stream, seen, now, self._by, MARKS, self._space.epochs.arg],
        )
        if lost is None:
            return None
        fence = Fence(stream, int(lost[0]), int(lost[1]), now, self._by)
        logger.error(
            "the store at %s lost acknowledged messages of %s: seqs %d-%d are gone (a failover "
            "promoted a replica without them); they are fenced: no other message gets those "
            "seqs, readers skip them. Set BUS_STORE_MIN_REPLICAS to have publishes wait for "
            "replicas (docs/operations.md)",
            self._space.url,
            stream,
            fence.first,
            fence.last,
        )
        return fence

    def check(self) -> list[Fence]:
        """Fence every stream this process saw whose head is below what it saw."""
        seen = dict(self._space.epochs.acknowledged)
        if not seen:
            return []
        streams = sorted(seen)
        heads = cast(list[str | None], self._space.client.hmget(self._space.keys.heads, streams))
        fences = []
        for stream, head in zip(streams, heads, strict=True):
            if int(head or 0) < seen[stream]:
                fence = self.fence(stream, int(head or 0))
                if fence is not None:
                    fences.append(fence)
        return fences

    def recorded(self) -> list[Fence]:
        """The fences the store holds, oldest first."""
        raws = cast(list[str], self._space.client.lrange(self._space.keys.fences, 0, -1))
        return [
            Fence(item["stream"], item["first"], item["last"], item["at"], item["by"])
            for item in map(json.loads, raws)
        ]

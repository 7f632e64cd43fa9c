"""The epoch part of :class:`~bus.store.redis.RedisStore` (see
:class:`~bus.store.contracts.epochs.EpochStore`): the epoch is a key of the namespace; the
scripts that append and hand messages over check it; a failover that lost acknowledged appends
is fenced (:mod:`~bus.store.redis.fencing`)."""

from __future__ import annotations

from typing import cast

from bus.store.contracts.epochs import EpochStore, ResetWatcher, new_epoch
from bus.store.redis.connection import replica_reached
from bus.store.redis.fencing import Fencing
from bus.store.redis.namespace import RedisNamespace
from bus.store.results import Fence


class RedisEpochs(EpochStore):
    """The epoch of a namespace in Redis, and the one this process adopted.

    Args:
        space: The store's namespace on its server, whose epoch watch hears of every reset
            that a script finds.
    """

    def __init__(self, space: RedisNamespace) -> None:
        self._redis = space.client
        self._key = space.keys.epoch
        self._watch = space.epochs
        self._fencing = Fencing(space)

    def establish(self) -> str:
        self._redis.set(self._key, new_epoch(), nx=True)
        epoch = cast(str, self._redis.get(self._key))
        self._watch.expected = epoch
        return epoch

    def epoch(self) -> str | None:
        found = cast(str | None, self._redis.get(self._key))
        if found != self._watch.expected and self._redis.info("replication").get("role") == "slave":
            raise replica_reached(self._redis)  # a replica's dataset: not the store's epoch
        return found

    @property
    def expected(self) -> str | None:
        return self._watch.expected

    def verify(self) -> None:
        found = self.epoch()  # a replica reached: StoreUnavailable, not a reset
        if self._watch.expected is not None and found != self._watch.expected:
            raise self._watch.reset(found)

    def watch(self, watcher: ResetWatcher) -> None:
        self._watch.watch(watcher)

    def check_heads(self) -> list[Fence]:
        return self._fencing.check()

    def fences(self) -> list[Fence]:
        return self._fencing.recorded()

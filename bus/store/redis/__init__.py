"""The Redis store: shared by every process of a bus on Redis or RabbitMQ.

Every key is named by :class:`~bus.store.redis.key_names.Keys` (one hash tag per namespace, so
the store also runs on a Redis Cluster). Each operation that must be atomic is one Lua script
(``lua/*.lua``, loaded by :mod:`~bus.store.redis.scripts`), so it is also one round trip. The
scripts that span an unknown number of keys (a broadcast channel's agents, an agent's broadcast
channels or streams) are given them by the caller, re-check them, and ask for a retry when they
changed.

One module per part of the contract (:mod:`bus.store.contracts`), each a small class over the
store's one :class:`~bus.store.redis.namespace.RedisNamespace` (client, key names, scripts,
epoch); :mod:`~bus.store.redis.connection` is the client that turns a lost server into
:class:`~bus.errors.StoreUnavailable`.
"""

from __future__ import annotations

from bus.settings.replication import Replication
from bus.store.contracts import Store
from bus.store.redis.epochs import RedisEpochs
from bus.store.redis.guards import RedisGuards
from bus.store.redis.leases import RedisLeases
from bus.store.redis.liveness import RedisLiveness
from bus.store.redis.log import RedisLog
from bus.store.redis.namespace import RedisNamespace
from bus.store.redis.receipts import RedisReceipts
from bus.store.redis.registry import RedisRegistry
from bus.store.redis.replies import RedisReplies

__all__ = ["RedisStore"]


class RedisStore(Store):
    """A :class:`~bus.store.contracts.Store` in Redis.

    Args:
        url: The server's URL (``redis://``, ``rediss://`` or ``unix://``), or its sentinels'
            (``sentinel://host:port;sentinel://host:port``).
        namespace: The bus's namespace: every key of the store is in it.
        replication: The sentinels' master name; the replicas a publish waits for.
    """

    def __init__(self, url: str, namespace: str, replication: Replication | None = None) -> None:
        space = self._space = RedisNamespace(url, namespace, replication)
        #: The server's URL, password masked.
        self.url = space.url
        self._log = RedisLog(space)
        super().__init__(
            registry=RedisRegistry(space),
            log=self._log,
            leases=RedisLeases(space),
            liveness=RedisLiveness(space),
            replies=RedisReplies(space),
            epochs=RedisEpochs(space),
            receipts=RedisReceipts(space),
            guards=RedisGuards(space),
        )

    def ping(self) -> None:
        self._space.client.ping()

    def is_cluster_node(self) -> bool:
        return str(self._space.client.info("cluster").get("cluster_enabled", 0)) == "1"

    def close(self) -> None:
        self._space.client.close()

    def destroy(self) -> None:
        client, batch = self._space.client, []
        for key in client.scan_iter(match=self._space.keys.pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
        self._log.forget_streams()
        self._space.epochs.forget_seen()

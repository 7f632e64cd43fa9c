"""Where a bus keeps its state; :func:`open_store` picks the implementation by URL scheme.

:mod:`~bus.store.contracts` holds the contract, one module per part (registry, log, leases,
liveness, replies, epochs, receipts, guards) and :class:`Store`, the whole, which exposes each
part as an attribute
(``store.log.append(...)``); :mod:`~bus.store.results` holds what the parts' methods return.
:mod:`~bus.store.memory` and :mod:`~bus.store.redis` implement it with one module per part, the
latter with the Lua of ``redis/lua/*.lua`` on the keys that :mod:`~bus.store.redis.key_names`
names.
"""

from __future__ import annotations

import threading

from bus.channels import channel_stream, direct_stream
from bus.settings.replication import Replication
from bus.settings.transports import store_in_process
from bus.store.contracts import (
    EpochStore,
    GuardStore,
    LeaseStore,
    LivenessStore,
    LogStore,
    ReceiptStore,
    RegistryStore,
    ReplyStore,
    ResetWatcher,
    Store,
)
from bus.store.contracts.liveness import lease_token, token_worker
from bus.store.contracts.replies import Replied
from bus.store.message_facts import DeliveryFacts, Located, MemberFacts, Note, Traced
from bus.store.pushed import (
    Pushed,
    ReceiptDraft,
    Skipped,
    SkipRun,
)
from bus.store.results import (
    Appended,
    Batch,
    Dedupe,
    Entry,
    Failure,
    Fence,
    Holder,
    Lag,
    Step,
    Wanting,
    WorkerRecord,
)

_memory_stores: dict[str, Store] = {}
_memory_lock = threading.Lock()


def open_store(url: str, namespace: str, replication: Replication | None = None) -> Store:
    """Open the store at ``url`` (``memory://``, ``redis://``/``rediss://``/``unix://``, or
    ``sentinel://`` with ``replication.sentinel_master``).

    Like kombu's ``memory://`` transport, the in-process store is shared by everything in the
    process that uses the same namespace (a publisher and an embedded worker see one state).
    The scheme is checked by :func:`bus.settings.urls.resolve_store_url`; the Redis client is
    imported only when used.
    """
    if store_in_process(url):
        from bus.store.memory import MemoryStore

        with _memory_lock:
            store = _memory_stores.get(namespace)
            if store is None:
                store = _memory_stores[namespace] = MemoryStore()
            return store
    from bus.store.redis import RedisStore

    return RedisStore(url, namespace, replication)


__all__ = [
    "Appended",
    "Batch",
    "Dedupe",
    "DeliveryFacts",
    "Entry",
    "EpochStore",
    "Failure",
    "Fence",
    "GuardStore",
    "Holder",
    "Lag",
    "LeaseStore",
    "LivenessStore",
    "Located",
    "LogStore",
    "MemberFacts",
    "Note",
    "Pushed",
    "ReceiptDraft",
    "ReceiptStore",
    "RegistryStore",
    "Replied",
    "ReplyStore",
    "ResetWatcher",
    "SkipRun",
    "Skipped",
    "Step",
    "Store",
    "Traced",
    "Wanting",
    "WorkerRecord",
    "channel_stream",
    "direct_stream",
    "lease_token",
    "open_store",
    "token_worker",
]

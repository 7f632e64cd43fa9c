"""The store a bus stands on, over the bus's life: :class:`StoreLifecycle`.

Its URL is resolved and checked when the bus is made, the store is connected (once it and the
broker answered, :func:`~bus.servers.connect.connect`) when the bus starts, closed when it
stops, and its namespace deleted when it is destroyed. Between start and stop it is the one
store every service of the bus reads through :meth:`StoreLifecycle.current`.
"""

from __future__ import annotations

from collections.abc import Iterable

from bus.broker.deliveries import Broker
from bus.errors import BusNotStarted
from bus.servers.connect import connect, destroy_namespace
from bus.settings import BusSettings
from bus.settings.replication import check_sentinels, replication_of
from bus.settings.transports import resolve_store_url
from bus.store import ResetWatcher, Store


class StoreLifecycle:
    """The store of one bus: none until :meth:`start`, none again after :meth:`stop`.

    Args:
        settings: The bus's settings: the store's and broker's URLs, the namespace, replication.

    Raises:
        ConfigurationError: the store URL names sentinels without a master, or malformed ones.
    """

    def __init__(self, settings: BusSettings) -> None:
        self._settings = settings
        #: The store's URL: ``BUS_STORE_URL``, or the broker's when it is Redis.
        self.url = resolve_store_url(settings.broker_url, settings.store_url)
        check_sentinels(self.url, settings.sentinel_master)
        self._store: Store | None = None

    @property
    def started(self) -> bool:
        """Whether the store is connected."""
        return self._store is not None

    def current(self) -> Store:
        """The connected store.

        Raises:
            BusNotStarted: it is not connected (the bus is not started).
        """
        if self._store is None:
            raise BusNotStarted("the bus is not started: call bus.start() or use 'with bus:'")
        return self._store

    def start(self, broker: Broker, on_reset: Iterable[ResetWatcher]) -> None:
        """Connect the store once it and ``broker`` answer, call each of ``on_reset`` whenever
        the store is found to have lost its state, and adopt (or write) the store's epoch.

        Raises:
            StoreUnavailable, BrokerUnavailable, ConfigurationError: as :func:`connect`.
        """
        store = connect(self.url, self._settings.namespace, broker, replication_of(self._settings))
        for watcher in on_reset:
            store.epochs.watch(watcher)
        store.epochs.establish()
        self._store = store

    def stop(self) -> None:
        """Close the store's connection, if it is open. Safe to call twice."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def destroy(self, broker: Broker, agents: list[str], channels: list[str]) -> None:
        """Delete the agents' queues, the channels' exchanges and every key of the namespace
        (after :meth:`stop`: it opens a connection of its own)."""
        destroy_namespace(
            self.url,
            self._settings.namespace,
            broker,
            agents,
            channels,
            replication_of(self._settings),
        )

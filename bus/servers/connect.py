"""Opening and tearing down what a bus stands on: its store and its broker.

:func:`connect` is what :meth:`bus.Bus.start` does before anything else (a store that answers,
a broker that answers); :func:`destroy_namespace` is what :meth:`bus.Bus.destroy` does after it
stopped: every queue, exchange and key of the namespace deleted.
"""

from __future__ import annotations

from bus.broker.deliveries import Broker
from bus.errors import BusError, StoreUnavailable
from bus.settings.replication import Replication
from bus.settings.transports import cluster_refused
from bus.settings.urls import mask
from bus.store import Store, open_store


def connect(
    store_url: str, namespace: str, broker: Broker, replication: Replication | None = None
) -> Store:
    """The store at ``store_url``, once it and the broker answered (``replication``: the
    sentinels' master name, the replicas a publish waits for).

    Raises:
        StoreUnavailable: the store does not answer (its URL, password masked, is named).
        ConfigurationError: the store is a node of a Redis Cluster.
        BrokerUnavailable: the broker does not answer.
    """
    store = open_store(store_url, namespace, replication)
    try:
        try:
            store.ping()
            if store.is_cluster_node():
                raise cluster_refused(store_url, "BUS_STORE_URL")
        except BusError:
            raise
        except Exception as exc:
            raise StoreUnavailable(
                f"cannot reach the store at {mask(store_url)}: {exc}", url=mask(store_url)
            ) from exc
        broker.check()
    except BaseException:
        store.close()
        raise
    return store


def destroy_namespace(
    store_url: str,
    namespace: str,
    broker: Broker,
    agents: list[str],
    channels: list[str],
    replication: Replication | None = None,
) -> None:
    """Delete the agents' queues, the channels' exchanges and every key of ``namespace``."""
    with broker.connection() as connection:
        broker.topology.destroy(connection, agents, channels)
    store = open_store(store_url, namespace, replication)
    try:
        store.destroy()
    finally:
        store.close()

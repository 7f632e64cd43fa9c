"""What each broker transport means for bus, in one table: every module that asks "which
transport?" asks :func:`transport_of` (kombu maps the same schemes to its transport classes;
this table holds what bus does differently on each, never a second mapping to kombu's classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bus.errors import ConfigurationError
from bus.settings.urls import mask, scheme_of

__all__ = [
    "REFUSED",
    "STORE_SCHEMES",
    "TRANSPORTS",
    "TransportTraits",
    "check_broker_url",
    "cluster_refused",
    "resolve_store_url",
    "store_in_process",
    "transport_of",
]


@dataclass(frozen=True, slots=True)
class TransportTraits:
    """The traits of one broker URL scheme."""

    #: The URL scheme (``memory``, ``redis``, ``amqp``, ...).
    scheme: str
    #: The broker lives inside one process (kombu's ``memory://``): nothing crosses processes,
    #: so an embedded worker hosts the agents and the store is in-process too.
    in_process: bool
    #: The server routes deliveries through exchanges and bindings (AMQP). Otherwise bus
    #: addresses each member's queue itself (kombu's virtual transports emulate exchanges).
    routes_by_broker: bool
    #: kombu polls the transport every ``BUS_POLLING_INTERVAL`` instead of being pushed to.
    polled: bool
    #: Celery's prefork pool can host agents on it (children of an in-process broker could not
    #: see the parent's queues).
    prefork: bool
    #: The store a bus gets when ``BUS_STORE_URL`` is unset: the in-process one, the broker's own
    #: server, or none (it must be set).
    default_store: Literal["memory", "broker"] | None
    #: Unacknowledged deliveries come back after kombu's visibility timeout (Redis), not when the
    #: consumer's connection drops.
    visibility_timeout: bool
    #: How a message's deliveries to many members are put in their queues with the task
    #: message built once (:mod:`bus.broker.fanout`): ``redis`` (one script call),
    #: ``memory`` (a copy per member), ``amqp`` (one publish the broker routes to each).
    fanout: Literal["redis", "memory", "amqp"] | None
    #: Publishes go through :mod:`bus.broker.redis_transport` (kombu's Redis transport with one
    #: crash guarded); ``rediss://`` keeps kombu's own, which sets TLS up by scheme.
    guarded_transport: bool
    #: Queues can be quorum queues (RabbitMQ: ``BUS_QUEUE_TYPE=quorum``).
    quorum_queues: bool = False
    #: The URL names Redis sentinels (kombu's ``sentinel://``): the master is the one they name
    #: for ``BUS_SENTINEL_MASTER`` (:mod:`bus.settings.replication`).
    sentinel: bool = False
    #: kombu's memory transport whose puts wake their consumers
    #: (:mod:`bus.broker.memory_transport`) instead of a poll every ``BUS_POLLING_INTERVAL``.
    woken_transport: bool = False


def _redis(scheme: str, *, guarded: bool, sentinel: bool = False) -> TransportTraits:
    return TransportTraits(
        scheme,
        in_process=False,
        routes_by_broker=False,
        polled=False,
        prefork=True,
        default_store="broker",
        visibility_timeout=True,
        fanout="redis",
        guarded_transport=guarded,
        sentinel=sentinel,
    )


def _amqp(scheme: str) -> TransportTraits:
    return TransportTraits(
        scheme,
        in_process=False,
        routes_by_broker=True,
        polled=False,
        prefork=True,
        default_store=None,
        visibility_timeout=False,
        fanout="amqp",
        guarded_transport=False,
        quorum_queues=True,
    )


#: Every broker transport bus is built and tested for, by scheme.
TRANSPORTS: dict[str, TransportTraits] = {
    "memory": TransportTraits(
        "memory",
        in_process=True,
        routes_by_broker=False,
        polled=False,
        prefork=False,
        default_store="memory",
        visibility_timeout=False,
        fanout="memory",
        guarded_transport=False,
        woken_transport=True,
    ),
    "redis": _redis("redis", guarded=True),
    "rediss": _redis("rediss", guarded=False),
    "sentinel": _redis("sentinel", guarded=True, sentinel=True),
    "amqp": _amqp("amqp"),
    "amqps": _amqp("amqps"),
    "pyamqp": _amqp("pyamqp"),
}

#: Stores bus can keep its state in.
STORE_SCHEMES = ("memory", "redis", "rediss", "unix", "sentinel")

#: Why a Redis Cluster cannot be a broker or a store.
CLUSTER = (
    "kombu and Celery do not support Redis Cluster (their Redis transport keeps a queue's keys "
    "and its consumers' state on one server, and a cluster spreads keys over nodes by slot). "
    "Point bus at one Redis server (a primary with replicas for safety)"
)

#: Schemes bus knows and refuses, and why (the error names it, instead of "unsupported").
REFUSED: dict[str, str] = dict.fromkeys(
    ("redis+cluster", "rediss+cluster", "rediscluster", "redis-cluster", "cluster"), CLUSTER
)


def cluster_refused(url: str, setting: str) -> ConfigurationError:
    """The error for ``url`` (of ``setting``), a Redis Cluster or one of its nodes."""
    return ConfigurationError(
        f"{setting}={mask(url)} is a Redis Cluster: {CLUSTER}", setting=setting, url=mask(url)
    )


def transport_of(url: str) -> TransportTraits:
    """The traits of the broker at ``url``.

    Raises:
        ConfigurationError: bus does not support the URL's scheme; the message names those it
            does (or, for a Redis Cluster, why not).
    """
    scheme = scheme_of(url)
    if scheme in REFUSED:
        raise cluster_refused(url, "BUS_BROKER_URL")
    transport = TRANSPORTS.get(scheme)
    if transport is None:
        raise ConfigurationError(
            f"unsupported broker URL {url!r}: BUS_BROKER_URL must start with one of "
            + ", ".join(f"{name}://" for name in TRANSPORTS),
            setting="BUS_BROKER_URL",
            url=url,
        )
    return transport


def store_in_process(url: str) -> bool:
    """Whether the store at ``url`` is the in-process one (``memory://``)."""
    return scheme_of(url) == "memory"


def check_broker_url(url: str) -> str:
    """Return ``url`` if bus supports its transport.

    Raises:
        ConfigurationError: unsupported scheme; the message names the supported ones.
    """
    transport_of(url)
    return url


def resolve_store_url(broker_url: str, store_url: str | None) -> str:
    """The store URL a bus uses: the explicit one, else the transport's default store (the
    in-process store for ``memory://``, the broker's own Redis for ``redis://``).

    Raises:
        ConfigurationError: amqp without a store, an unsupported store scheme, or the in-process
            store with a broker that other processes share (their state would split).
    """
    broker = transport_of(broker_url)
    if store_url is None:
        if broker.default_store == "memory":
            return "memory://"
        if broker.default_store == "broker":
            return broker_url
        raise ConfigurationError(
            f"BUS_STORE_URL must be set when the broker is {broker.scheme}:// (for example "
            "BUS_STORE_URL=redis://127.0.0.1:6379/0): history, channels and positions must live "
            "where every process of the bus can reach them",
            setting="BUS_STORE_URL",
            broker_url=broker_url,
        )
    if scheme_of(store_url) in REFUSED:
        raise cluster_refused(store_url, "BUS_STORE_URL")
    if scheme_of(store_url) not in STORE_SCHEMES:
        raise ConfigurationError(
            f"unsupported store URL {store_url!r}: BUS_STORE_URL must start with one of "
            + ", ".join(f"{name}://" for name in STORE_SCHEMES),
            setting="BUS_STORE_URL",
            url=store_url,
        )
    if store_in_process(store_url) and not broker.in_process:
        raise ConfigurationError(
            f"BUS_STORE_URL=memory:// cannot serve a {broker.scheme}:// broker: other processes "
            "sharing the broker could not see this process's history and positions",
            setting="BUS_STORE_URL",
            broker_url=broker_url,
        )
    return store_url

"""The broker side of a bus: its Celery app, and publishing deliveries through it.

:func:`create_app` builds the Celery app every process of a bus uses (publishers, pull readers
and workers alike); :class:`Broker` owns that app and the bus's
:class:`~bus.broker.topology.Topology` and is the one way deliveries are published
(:meth:`Broker.publish`), by the publisher, the worker's sweeps and dead-letter replays.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from celery import Celery
from kombu import Connection
from kombu.exceptions import KombuError

from bus.broker.fanout import RedisFanout
from bus.broker.redis_transport import TRANSPORT
from bus.broker.topology import Topology
from bus.broker.wire import DELIVER_TASK, Delivery
from bus.errors import BrokerUnavailable, BusError
from bus.settings import BusSettings
from bus.settings.urls import AMQP, check_broker_url, mask, scheme_of

logger = logging.getLogger(__name__)

#: How hard a publish retries a lost broker connection before it gives up.
PUBLISH_RETRY_POLICY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.2}


def create_app(settings: BusSettings) -> Celery:
    """A Celery app for the bus described by ``settings``.

    JSON only; late acknowledgement and reject-on-worker-lost, so a delivery whose worker dies is
    delivered again.
    """
    broker_url = check_broker_url(settings.broker_url)
    transport_options: dict[str, Any] = {}
    if scheme_of(broker_url) in ("redis", "rediss"):
        transport_options["visibility_timeout"] = settings.visibility_timeout
    if scheme_of(broker_url) == "memory":
        transport_options["polling_interval"] = settings.polling_interval
        if broker_url.rstrip("/") == "memory:":  # kombu warns about a missing host otherwise
            broker_url = "memory://localhost/"
    app = Celery(f"{settings.namespace}", broker=broker_url, set_as_current=False)
    if scheme_of(broker_url) == "redis":  # rediss:// keeps kombu's own: it sets TLS up by scheme
        app.conf.broker_transport = TRANSPORT  # see bus.transport: a guard kombu lacks
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=settings.worker_prefetch_multiplier,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_default_queue=f"{settings.namespace}.celery",
        # Remote control (ping, inspect) and events per namespace, so a bus's workers and its
        # Flower see each other and not another bus sharing the broker.
        control_exchange=f"{settings.namespace}-celery",
        event_exchange=f"{settings.namespace}-celeryev",
        enable_utc=True,
    )
    return app


def unavailable(url: str, exc: BaseException, doing: str = "reach") -> BrokerUnavailable:
    """The error a caller gets for ``exc`` from the broker at ``url`` (masked here)."""
    shown = mask(url)
    return BrokerUnavailable(
        f"cannot {doing} the broker at {shown}: {mask(str(exc)) or type(exc).__name__}",
        url=shown,
        error=type(exc).__name__,
    )


def url_of(connection: Connection) -> str:
    """The URL ``connection`` goes to (unmasked: :func:`unavailable` masks it). kombu names a
    transport given by class path (bus.transport's) by that path: put the scheme back."""
    uri = str(connection.as_uri(include_password=True))
    return "redis" + uri[len(TRANSPORT) :] if uri.startswith(TRANSPORT + "://") else uri


@contextmanager
def broker_errors(connection: Connection, doing: str = "reach") -> Iterator[None]:
    """Turn the connection and channel errors of ``connection``'s transport (kombu's, amqp's,
    redis-py's, sockets') raised in the block into :class:`BrokerUnavailable` naming the broker.

    Bus errors pass as they are (a store failure inside the block stays a store failure).
    """
    try:
        yield
    except BusError:
        raise
    except (OSError, KombuError, *connection.connection_errors, *connection.channel_errors) as exc:
        raise unavailable(url_of(connection), exc, doing) from exc


class Broker:
    """A bus's Celery app and topology: connections, and the publishing of deliveries.

    Args:
        settings: The bus's settings (namespace, broker URL).
        app: The Celery app to publish through; :func:`create_app` makes one by default.
    """

    def __init__(self, settings: BusSettings, app: Celery | None = None) -> None:
        self.app = app if app is not None else create_app(settings)
        self.topology = Topology(
            settings.namespace, routes_by_broker=scheme_of(settings.broker_url) in AMQP
        )
        self._origin = f"bus@{socket.gethostname()}/{os.getpid()}"
        #: The broker's URL, password masked: what errors name.
        self.url = mask(settings.broker_url)
        #: One round trip for a message's deliveries to many members, on kombu's Redis.
        self._fanout = (
            RedisFanout(self.app, self.topology, self._origin)
            if scheme_of(settings.broker_url) in ("redis", "rediss")
            else None
        )

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection from the app's pool, for declaring and binding.

        Raises:
            BrokerUnavailable: the broker failed while the block used the connection.
        """
        with self.app.connection_for_write() as connection, broker_errors(connection):
            yield connection

    def check(self) -> None:
        """Connect once and declare the direct exchange.

        Raises:
            BrokerUnavailable: the broker does not answer (its URL, password masked, is named).
        """
        with self.connection() as connection:
            try:
                connection.ensure_connection(max_retries=1)
                self.topology.direct_exchange(connection.default_channel).declare()
            except Exception as exc:
                raise unavailable(url_of(connection), exc) from exc

    def publish(
        self, deliveries: Sequence[Delivery], task: str = DELIVER_TASK, *, direct: bool = False
    ) -> None:
        """Publish one Celery task message per delivery, through its stream's exchange (or,
        with ``direct``, the direct exchange, which reaches an agent whatever it subscribes to).

        Raises:
            BrokerUnavailable: the broker could not take them (after a few reconnection tries).
        """
        if not deliveries:
            return
        if self._fanout is not None and not direct and self._fanout.applies(deliveries, task):
            try:
                self._fanout.publish(deliveries)
            except Exception as exc:
                raise self._unavailable(deliveries, exc) from exc
            return
        topology = self.topology
        try:
            with self.app.producer_or_acquire() as producer:
                batch = getattr(producer, "batch", None)
                with batch() if batch is not None else nullcontext():
                    for delivery in deliveries:
                        exchange = (
                            topology.direct_exchange
                            if direct or delivery.channel is None
                            else topology.channel_exchange(delivery.channel)
                        )
                        headers, properties, body = delivery.task_message(
                            self.app, self._origin, task
                        )
                        target, routing_key = topology.route(exchange, delivery.agent)
                        producer.publish(
                            body,
                            exchange=target,
                            routing_key=routing_key,
                            headers=headers,
                            serializer="json",
                            delivery_mode=2,
                            declare=[exchange] if target else None,
                            retry=True,
                            retry_policy=PUBLISH_RETRY_POLICY,
                            **properties,
                        )
        except Exception as exc:
            raise self._unavailable(deliveries, exc) from exc

    def _unavailable(self, deliveries: Sequence[Delivery], exc: Exception) -> BrokerUnavailable:
        first = deliveries[0]
        return BrokerUnavailable(
            f"message {first.seq} of {first.stream!r} is stored, but its deliveries could not "
            f"be published to the broker at {self.url} ({mask(str(exc))}); agents will claim "
            "it from the store when they next receive",
            url=self.url,
            seq=first.seq,
            channel=first.channel,
            error=type(exc).__name__,
        )

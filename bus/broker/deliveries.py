"""Publishing deliveries: :class:`Broker` owns a bus's Celery app (:mod:`bus.broker.celery_app`)
and its :class:`~bus.broker.topology.Topology`, and is the one way deliveries are published
(:meth:`Broker.publish`), by the publisher, the worker's sweeps and dead-letter replays.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext

from celery import Celery
from kombu import Connection

from bus.broker.celery_app import create_app
from bus.broker.failures import broker_errors, unavailable, url_of
from bus.broker.fanout import (
    PUBLISH_RETRY_POLICY,
    AmqpFanout,
    Fanout,
    MemoryFanout,
    RedisFanout,
)
from bus.broker.topology import Topology
from bus.broker.wire import DELIVER_TASK, Delivery, MemberDeliveries
from bus.errors import BrokerUnavailable
from bus.settings import BusSettings
from bus.settings.transports import transport_of
from bus.settings.urls import mask

logger = logging.getLogger(__name__)

__all__ = ["PUBLISH_RETRY_POLICY", "Broker", "broker_errors", "create_app", "unavailable"]


class Broker:
    """A bus's Celery app and topology: connections, and the publishing of deliveries.

    Args:
        settings: The bus's settings (namespace, broker URL).
        app: The Celery app to publish through; :func:`create_app` makes one by default.
    """

    def __init__(self, settings: BusSettings, app: Celery | None = None) -> None:
        self.app = app if app is not None else create_app(settings)
        transport = transport_of(settings.broker_url)
        self.topology = Topology(
            settings.namespace,
            routes_by_broker=transport.routes_by_broker,
            queue_type=settings.queue_type,
        )
        self._origin = f"bus@{socket.gethostname()}/{os.getpid()}"
        #: The broker's URL, password masked: what errors name.
        self.url = mask(settings.broker_url)
        #: A message's deliveries to many members built once (one round trip on Redis, one
        #: publish on RabbitMQ).
        fanouts: dict[str | None, type[Fanout]] = {
            "redis": RedisFanout,
            "memory": MemoryFanout,
            "amqp": AmqpFanout,
        }
        fanout = fanouts.get(transport.fanout)
        self._fanout = None if fanout is None else fanout(self.app, self.topology, self._origin)

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
        fanout = self._fanout
        if fanout is not None and not direct and fanout.applies(deliveries, task):
            assert isinstance(deliveries, MemberDeliveries)  # what applies() holds
            try:
                fanout.publish(deliveries)
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

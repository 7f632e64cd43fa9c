"""The broker side of a bus: its Celery app, and publishing deliveries through it.

:func:`create_app` builds the Celery app every process of a bus uses (publishers, pull readers
and workers alike); :class:`Broker` owns that app and the bus's :class:`~bus.topology.Topology`
and is the one way deliveries are published (:meth:`Broker.publish`), by the publisher, the
worker's sweeps and dead-letter replays.
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

from bus.errors import BrokerUnavailable
from bus.fanout import RedisFanout
from bus.topology import Topology
from bus.urls import AMQP, check_broker_url, scheme_of
from bus.wire import DELIVER_TASK, Delivery
from config.settings import BusSettings

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
        #: One round trip for a message's deliveries to many members, on kombu's Redis.
        self._fanout = (
            RedisFanout(self.app, self.topology, self._origin)
            if scheme_of(settings.broker_url) in ("redis", "rediss")
            else None
        )

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection from the app's pool, for declaring and binding."""
        with self.app.connection_for_write() as connection:
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
                url = connection.as_uri()
                raise BrokerUnavailable(
                    f"cannot reach the broker at {url}: {exc}", url=url
                ) from exc

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
                raise _unavailable(deliveries, exc) from exc
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
            raise _unavailable(deliveries, exc) from exc


def _unavailable(deliveries: Sequence[Delivery], exc: Exception) -> BrokerUnavailable:
    first = deliveries[0]
    return BrokerUnavailable(
        f"message {first.seq} of {first.stream!r} is stored, but its deliveries could not "
        f"be published ({exc}); agents will claim it from the store when they next receive",
        seq=first.seq,
        channel=first.channel,
    )

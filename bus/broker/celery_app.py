"""The Celery app every process of a bus uses: publishers, pull readers and workers alike."""

from __future__ import annotations

from typing import Any

from celery import Celery

from bus.broker import memory_transport, redis_transport
from bus.errors import ConfigurationError
from bus.settings import BusSettings
from bus.settings.replication import sentinel_address
from bus.settings.transports import TransportTraits, transport_of


def create_app(settings: BusSettings) -> Celery:
    """A Celery app for the bus described by ``settings``.

    JSON only; late acknowledgement and reject-on-worker-lost, so a delivery whose worker dies is
    delivered again. On RabbitMQ, Celery's control and event queues are exclusive (RabbitMQ 4.x
    refuses transient queues that are not), and ``BUS_QUEUE_TYPE=quorum`` makes the agents'
    queues quorum queues (:func:`_quorum`).

    Raises:
        ConfigurationError: quorum queues asked of a broker that has none.
    """
    broker_url = settings.broker_url
    transport = transport_of(broker_url)
    transport_options: dict[str, Any] = {}
    if transport.visibility_timeout:
        transport_options["visibility_timeout"] = settings.visibility_timeout
    if transport.polled or transport.woken_transport:
        # Woken transports poll only while a consumer's prefetch is full (acks do not wake).
        transport_options["polling_interval"] = settings.polling_interval
    if transport.sentinel:  # kombu asks the sentinels for this master (and follows failovers)
        address = sentinel_address(broker_url, settings.sentinel_master, "BUS_BROKER_URL")
        transport_options["master_name"] = address.master
    if transport.in_process and broker_url.rstrip("/") == "memory:":
        broker_url = "memory://localhost/"  # kombu warns about a missing host otherwise
    app = Celery(f"{settings.namespace}", broker=broker_url, set_as_current=False)
    if transport.guarded_transport:  # see bus.broker.redis_transport
        app.conf.broker_transport = (
            redis_transport.SENTINEL_TRANSPORT if transport.sentinel else redis_transport.TRANSPORT
        )
    elif transport.woken_transport:  # see bus.broker.memory_transport
        app.conf.broker_transport = memory_transport.TRANSPORT
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
        # RabbitMQ 4.x refuses transient non-exclusive queues: the remote-control (pidbox and
        # reply) and event queues are exclusive and not durable (Celery 5.7's defaults, set
        # so that a Celery whose defaults differ declares the same).
        control_queue_exclusive=True,
        control_queue_durable=False,
        event_queue_exclusive=True,
        event_queue_durable=False,
    )
    if settings.queue_type == "quorum":
        _quorum(app, transport, transport_options)
    return app


def _quorum(app: Celery, transport: TransportTraits, transport_options: dict[str, Any]) -> None:
    """Quorum queues (Celery 5.5+): Celery declares its own queues as quorum queues and its
    consumers use per-consumer prefetch (quorum queues have no global QoS: Celery finds the
    quorum queues among the worker's ``task_queues``, which the topology declares with
    ``x-queue-type: quorum``); every publish waits for the broker's confirm, which for a quorum
    queue means a majority of its replicas have the message."""
    if not transport.quorum_queues:
        raise ConfigurationError(
            f"BUS_QUEUE_TYPE=quorum needs RabbitMQ (amqp://): {transport.scheme}:// has no "
            "quorum queues",
            setting="BUS_QUEUE_TYPE",
        )
    transport_options["confirm_publish"] = True
    app.conf.update(task_default_queue_type="quorum", worker_detect_quorum_queues=True)

"""The Celery app every process of a bus uses: publishers, pull readers and workers alike."""

from __future__ import annotations

from typing import Any

from celery import Celery

from bus.broker.redis_transport import TRANSPORT
from bus.settings import BusSettings
from bus.settings.transports import transport_of


def create_app(settings: BusSettings) -> Celery:
    """A Celery app for the bus described by ``settings``.

    JSON only; late acknowledgement and reject-on-worker-lost, so a delivery whose worker dies is
    delivered again.
    """
    broker_url = settings.broker_url
    transport = transport_of(broker_url)
    transport_options: dict[str, Any] = {}
    if transport.visibility_timeout:
        transport_options["visibility_timeout"] = settings.visibility_timeout
    if transport.polled:
        transport_options["polling_interval"] = settings.polling_interval
    if transport.in_process and broker_url.rstrip("/") == "memory:":
        broker_url = "memory://localhost/"  # kombu warns about a missing host otherwise
    app = Celery(f"{settings.namespace}", broker=broker_url, set_as_current=False)
    if transport.guarded_transport:
        app.conf.broker_transport = TRANSPORT  # see bus.broker.redis_transport
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

"""The Celery app of a bus. ``celery -A bus worker`` finds :data:`app` here.

:func:`create_app` builds an app from explicit settings; the module attribute ``app`` is built
on first access from the environment (``BUS_*``), so importing bus reads nothing and connects
to nothing.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from bus.urls import check_broker_url, scheme_of
from config.settings import BusSettings


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


def create_worker_app(settings: BusSettings) -> Celery:
    """A Celery app that hosts the agents of ``BUS_AGENT_MODULES`` (those of ``BUS_AGENTS``)."""
    from bus.worker import install, load_agents

    app = create_app(settings)
    install(app, settings, load_agents(settings.agent_modules, settings.agents))
    return app


_app: Celery | None = None


def __getattr__(name: str) -> Any:
    # PEP 562: ``bus.celery.app`` is made on first access, from the environment.
    global _app
    if name == "app":
        if _app is None:
            _app = create_worker_app(BusSettings())
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

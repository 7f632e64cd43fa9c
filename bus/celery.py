"""The ``celery -A bus worker`` entry point: Celery finds :data:`app` here.

The module attribute ``app`` is a worker app (:func:`create_worker_app`) built on first access
from the environment (``BUS_*``), so importing bus reads nothing and connects to nothing. The
app factory itself is :func:`bus.broker.create_app`.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from bus.broker import create_app
from bus.environment import load_settings
from config.settings import BusSettings

__all__ = ["create_app", "create_worker_app"]


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
            _app = create_worker_app(load_settings())
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

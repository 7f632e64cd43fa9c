"""The ``celery -A bus worker`` entry point: Celery finds :data:`app` here.

The module attribute ``app`` is a worker app (:func:`create_worker_app`) built on first access
from the environment (``BUS_*``), so importing bus reads nothing and connects to nothing. The
app factory itself is :func:`bus.broker.celery_app.create_app`.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from bus.broker.celery_app import create_app
from bus.settings.environment import load_settings
from bus.worker.worker_app import create_worker_app

__all__ = ["create_app", "create_worker_app"]


_app: Celery | None = None


def __getattr__(name: str) -> Any:
    # PEP 562: ``bus.celery.app`` is made on first access, from the environment.
    global _app
    if name == "app":
        if _app is None:
            _app = create_worker_app(load_settings())
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

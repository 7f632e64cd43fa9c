"""The ``celery -A bus worker`` entry point: Celery finds :data:`app` here.

The module attribute ``app`` is a worker app (:func:`create_worker_app`) built on first access
from the environment (``BUS_*``), so importing bus reads nothing and connects to nothing. The
app factory itself is :func:`bus.broker.celery_app.create_app`.

Settings that cannot work (a bad ``BUS_*`` value, an agent module of ``BUS_AGENT_MODULES`` that
does not import) are a :class:`~bus.errors.ConfigurationError`. Under the ``celery`` command,
which would wrap it in a traceback of its own (opening with ``module 'bus' has no attribute
'app'``), the error is printed as the ``bus`` command prints it, one line, and the command
exits with status 2; in code, ``bus.celery.app`` raises it.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from celery import Celery

from bus.broker.celery_app import create_app
from bus.errors import ConfigurationError
from bus.settings.environment import load_settings
from bus.settings.urls import mask
from bus.worker.worker_app import create_worker_app

__all__ = ["create_app", "create_worker_app"]

#: The exit status of ``celery -A bus ...`` when the settings cannot work (as ``bus``'s).
EXIT_CONFIGURATION = 2

_app: Celery | None = None


def _loaded_by_celery_command() -> bool:
    """Whether the ``celery`` command line (a click program) is loading the app right now."""
    context = click.get_current_context(silent=True)
    return context is not None and context.find_root().command.name == "celery"


def __getattr__(name: str) -> Any:
    # PEP 562: ``bus.celery.app`` is made on first access, from the environment.
    global _app
    if name == "app":
        if _app is None:
            try:
                _app = create_worker_app(load_settings())
            except ConfigurationError as exc:
                if not _loaded_by_celery_command():
                    raise
                print(f"bus: error: {mask(exc.message)}", file=sys.stderr, flush=True)
                raise SystemExit(EXIT_CONFIGURATION) from None
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

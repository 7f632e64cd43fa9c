"""Serving the console: over a bus of its own (with, on ``memory://``, the agents hosted in
this process, since nothing else can reach an in-process bus), with uvicorn, until stopped."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn

from bus.console.options import ConsoleOptions
from bus.console.webapp import create_app
from bus.core import Bus
from bus.settings import BusSettings
from bus.settings.transports import transport_of
from bus.worker import EmbeddedWorker, create_worker_app


@contextlib.contextmanager
def console_bus(settings: BusSettings, bus: Bus | None = None) -> Iterator[Bus]:
    """``bus`` if given (its owner starts and stops it), else a started bus of ``settings``: on
    ``memory://`` with an embedded worker hosting ``BUS_AGENT_MODULES`` (the demo's cast)."""
    if bus is not None:
        yield bus
        return
    if transport_of(settings.broker_url).in_process:
        app = create_worker_app(settings)
        with Bus(settings, app=app) as hosted, EmbeddedWorker(app, concurrency=1):
            yield hosted
        return
    with Bus(settings) as remote:
        yield remote


def serve(bus: Bus, host: str, port: int, options: ConsoleOptions | None = None) -> None:
    """Serve the console over ``bus`` on ``host:port`` until interrupted (Ctrl-C, SIGTERM)."""
    app = create_app(bus, options)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    uvicorn.Server(config).run()

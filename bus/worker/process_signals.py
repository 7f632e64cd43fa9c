"""Celery's process signals, connected for one worker app's :class:`~bus.worker.hosting.Hosting`:
a prefork child starts its runtime after the fork and stops it on exit; a worker shutting down
(SIGTERM) starts stopping its runtime, so running handlers get their ``BUS_SHUTDOWN_GRACE``.

With ``BUS_OTEL=true`` they also configure OpenTelemetry where handlers run: in the worker's own
process for the threads and solo pools, in each prefork child after the fork (a span processor's
thread does not survive a fork), and flush it when the process stops or the child exits."""

from __future__ import annotations

from typing import Any

from celery import signals

from bus.tracing.setup import configure_tracing, require_sdk, shutdown_tracing
from bus.worker.hosting import Hosting


def connect_process_signals(hosting: Hosting) -> None:
    """Connect ``hosting`` to Celery's (process-wide) worker signals."""

    settings = hosting.settings

    def worker_starting(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is not hosting.app:
            return  # another app's worker in this process (tests, the bench)
        require_sdk(settings)  # BUS_OTEL=true without the extra: the worker does not start
        if not is_prefork(sender.app.conf.worker_pool):
            configure_tracing(settings, "bus-worker")

    def child_started(**_: Any) -> None:
        # Celery's signals are process-wide: an app installed and closed earlier in this
        # process (tests, the bench) is still connected, and must not start again.
        if not hosting.closed:
            configure_tracing(settings, "bus-worker")
            hosting.runtime  # noqa: B018 - made for its side effect: the hooks run now

    def child_stopping(**_: Any) -> None:
        hosting.close()
        shutdown_tracing()

    def shutting_down(**_: Any) -> None:
        hosting.begin_shutdown()

    def shut_down(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is hosting.app:
            shutdown_tracing()

    signals.worker_init.connect(worker_starting, weak=False)
    signals.worker_process_init.connect(child_started, weak=False)
    signals.worker_process_shutdown.connect(child_stopping, weak=False)
    signals.worker_shutting_down.connect(shutting_down, weak=False)
    signals.worker_shutdown.connect(shut_down, weak=False)


def is_prefork(pool: Any) -> bool:
    """Whether ``pool`` (``worker_pool``) forks children that run the handlers."""
    return str(pool) in ("prefork", "processes")

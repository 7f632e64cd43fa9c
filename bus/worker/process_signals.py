"""Celery's process signals, connected for one worker app's :class:`~bus.worker.hosting.Hosting`:
a prefork child starts its runtime after the fork and stops it on exit; a worker shutting down
(SIGTERM) starts stopping its runtime, so running handlers get their ``BUS_SHUTDOWN_GRACE``."""

from __future__ import annotations

from typing import Any

from celery import signals

from bus.worker.hosting import Hosting


def connect_process_signals(hosting: Hosting) -> None:
    """Connect ``hosting`` to Celery's (process-wide) worker signals."""

    def child_started(**_: Any) -> None:
        # Celery's signals are process-wide: an app installed and closed earlier in this
        # process (tests, the bench) is still connected, and must not start again.
        if not hosting.closed:
            hosting.runtime  # noqa: B018 - made for its side effect: the hooks run now

    def child_stopping(**_: Any) -> None:
        hosting.close()

    def shutting_down(**_: Any) -> None:
        hosting.begin_shutdown()

    signals.worker_process_init.connect(child_started, weak=False)
    signals.worker_process_shutdown.connect(child_stopping, weak=False)
    signals.worker_shutting_down.connect(shutting_down, weak=False)

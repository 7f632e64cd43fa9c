"""A Celery worker in a thread of this process: how ``memory://`` runs agents (the demo and the
tests), since nothing outside the process can reach a ``memory://`` bus."""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import threading
from types import TracebackType
from typing import Any, Self

from celery import Celery
from celery.worker import WorkController

logger = logging.getLogger(__name__)


class _Controller(WorkController):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer: Any) -> None:
        super().on_consumer_ready(consumer)
        self.ready.set()


class EmbeddedWorker:
    """Run ``app``'s worker in a daemon thread; use as a context manager.

    Args:
        app: A worker app (see :func:`bus.worker.worker_app.install`).
        pool: ``threads`` (default) or ``solo``; never prefork in-process.
        concurrency: Threads in the pool; by default the app's ``worker_concurrency``
            (``BUS_WORKER_CONCURRENCY`` once :func:`~bus.worker.install` made it a worker app).
        loglevel: The worker's log level.
    """

    def __init__(
        self,
        app: Celery,
        *,
        pool: str = "threads",
        concurrency: int | None = None,
        loglevel: str = "WARNING",
    ) -> None:
        self.app = app
        self.controller = _Controller(
            app=app,
            pool=pool,
            concurrency=concurrency or app.conf.worker_concurrency or 2,
            loglevel=loglevel,
            hostname=f"embedded-{id(self):x}@localhost",
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        )
        self._thread = threading.Thread(
            target=self.controller.start, name="bus-embedded-worker", daemon=True
        )

    def start(self, timeout: float = 30.0) -> Self:
        """Start the worker and wait until it consumes."""
        # Celery resolves some calls (a task's retry among them) through the current app,
        # which the ``celery`` command sets and an embedded worker must set itself.
        self.app.set_default()
        self._thread.start()
        if not self.controller.ready.wait(timeout):
            raise RuntimeError(f"the embedded worker did not start within {timeout} s")
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the worker (warm: running handlers finish) and join its thread; a thread still
        running after ``timeout`` seconds is logged with where it is (it is a daemon: the
        process can still exit)."""
        self.controller.stop(in_sighandler=False)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning(
                "the embedded worker did not stop within %.0f s; its threads are at (stderr):",
                timeout,
            )
            with contextlib.suppress(ValueError, OSError, RuntimeError):  # stderr has no fd
                faulthandler.dump_traceback(all_threads=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

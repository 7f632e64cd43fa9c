"""What a worker app hosts, and the one bus and one runtime of each worker process.

:func:`~bus.worker.worker_app.install` gives a Celery app its :class:`Hosting` (the app's
:class:`~bus.worker.agent_registry.AgentRegistry`, the settings); the delivery tasks
(:mod:`bus.worker.tasks`), the process signals and the bootstep find it with :func:`hosting_of`.
Each worker process makes its own bus and :class:`~bus.worker.runtime.Runtime` on first use; a
prefork child makes its own after the fork.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from celery import Celery
from celery.exceptions import Reject

from bus.core import Bus
from bus.settings import BusSettings
from bus.worker.agent import Agent
from bus.worker.agent_registry import AgentRegistry
from bus.worker.runtime import Runtime


class Hosting:
    """What a worker app hosts, and the bus and runtime of the current process."""

    def __init__(self, app: Celery, settings: BusSettings, agents: Mapping[str, Agent]) -> None:
        self.app = app
        self.settings = settings
        #: The app's agents: the registry given, or one made of the agents given.
        self.agents = AgentRegistry.of(agents).seal()
        self._lock = threading.Lock()
        self._bus: Bus | None = None
        self._runtime: Runtime | None = None
        self._pid = 0
        self._closed = False
        app.bus_hosting = self

    def _forked(self) -> None:
        if self._pid != os.getpid():  # a prefork child: what the parent made is not ours
            self._bus, self._runtime, self._pid = None, None, os.getpid()
            self._closed = False

    @property
    def closed(self) -> bool:
        """Whether this process closed its hosting (a prefork child starts open)."""
        with self._lock:
            self._forked()
            return self._closed

    @property
    def bus(self) -> Bus:
        """This process's bus, started on first use.

        Raises:
            Reject: the process is stopping; a delivery goes back to the broker.
        """
        with self._lock:
            self._forked()
            if self._closed:
                raise Reject("the worker is stopping", requeue=True)
            if self._bus is None:
                self._bus = Bus(self.settings, app=self.app).start()
            return self._bus

    @property
    def runtime(self) -> Runtime:
        """This process's runtime (its startup hooks run when it is made).

        Raises:
            Reject: the process is stopping; a delivery goes back to the broker.
        """
        bus = self.bus
        with self._lock:
            if self._closed:
                raise Reject("the worker is stopping", requeue=True)
            if self._runtime is None:
                self._runtime = Runtime(bus, self.agents)
            return self._runtime

    def close(self) -> None:
        """Stop this process's runtime (within ``BUS_SHUTDOWN_GRACE``), then its bus."""
        with self._lock:
            self._forked()
            runtime, bus, self._runtime, self._bus = self._runtime, self._bus, None, None
            self._closed = True
        if runtime is not None:
            runtime.close()
        if bus is not None:
            bus.stop()

    def begin_shutdown(self) -> None:
        """Start stopping the runtime in the background, so running handlers get their grace
        while Celery waits for the pool's tasks (which end as their runs do)."""
        with self._lock:
            runtime = self._runtime if self._pid == os.getpid() else None
        if runtime is not None:
            threading.Thread(target=runtime.close, name="bus-shutdown", daemon=True).start()


def hosting_of(app: Celery) -> Hosting | None:
    """What ``app`` hosts: ``None`` unless :func:`~bus.worker.worker_app.install` made it a
    worker app."""
    hosting = getattr(app, "bus_hosting", None)
    return hosting if isinstance(hosting, Hosting) else None

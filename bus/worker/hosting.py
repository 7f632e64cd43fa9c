"""Turning a Celery app into a worker that hosts agents.

:func:`install` registers the ``bus.deliver`` and ``bus.replay`` tasks, points the worker at the
hosted agents' queues, and adds :class:`HostAgents`, a consumer bootstep that registers the
agents (queues, bindings, subscriptions) when the worker connects and then sweeps: it re-sends a
delivery for any stream where a hosted agent is behind and has not moved since the last sweep
(a publisher that died between storing and publishing, a delivery dropped with its binding).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, Task, bootsteps

from bus.core import Bus
from bus.streams import Stream
from bus.urls import scheme_of
from bus.wire import DELIVER_TASK, REPLAY_TASK, Delivery
from bus.worker.agent import Agent
from bus.worker.runtime import Runtime
from config.settings import BusSettings

logger = logging.getLogger(__name__)


class Hosting:
    """What a worker app hosts, and its per-process runtime."""

    def __init__(self, settings: BusSettings, agents: dict[str, Agent]) -> None:
        self.settings = settings
        self.agents = agents
        self._runtime: Runtime | None = None
        self._pid = 0

    @property
    def runtime(self) -> Runtime:
        """The runtime of this process, made anew after a fork (prefork children)."""
        if self._runtime is None or self._pid != os.getpid():
            self._runtime = Runtime(self.settings, self.agents)
            self._pid = os.getpid()
        return self._runtime


def install(app: Celery, settings: BusSettings, agents: dict[str, Agent]) -> Hosting:
    """Make ``app`` host ``agents``: tasks, queues, worker defaults and the bootstep."""
    hosting = Hosting(settings, agents)
    app.bus_hosting = hosting
    limit = settings.handler_time_limit

    # shared=False: Celery would otherwise add these closures to every app made later in the
    # process, and the first one registered would serve them all.
    @app.task(
        name=DELIVER_TASK,
        shared=False,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=None,
        ignore_result=True,
        time_limit=limit,
    )
    def deliver(
        self: Task, agent: str, channel: str | None, seq: int, message_id: str | None = None
    ) -> dict[str, Any]:
        return hosting.runtime.deliver(self, agent, channel, seq)

    @app.task(
        name=REPLAY_TASK,
        shared=False,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
        time_limit=limit,
    )
    def replay(
        self: Task,
        agent: str,
        channel: str | None,
        seq: int,
        message_id: str | None = None,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if message is None:
            raise ValueError(f"a replay of {agent} {channel} #{seq} carries no message")
        return hosting.runtime.replay(self, agent, message)

    bus = Bus(settings, app=app)
    app.conf.task_queues = [bus.topology.agent_queue(name) for name in agents]
    app.conf.worker_send_task_events = settings.worker_events
    # Retries wait on the worker's timer, which by default looks at its schedule once a
    # second: a 0.2 s backoff would become 1 s.
    app.conf.worker_timer_precision = 0.05
    if scheme_of(settings.broker_url) == "memory":
        app.conf.worker_pool = settings.worker_pool or "threads"
    elif settings.worker_pool:
        app.conf.worker_pool = settings.worker_pool
    app.steps["consumer"].add(HostAgents)
    return hosting


class HostAgents(bootsteps.StartStopStep):
    """Register the hosted agents when the worker connects, then sweep now and then."""

    requires = ("celery.worker.consumer.connection:Connection",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._bus: Bus | None = None
        self._timer: Any = None
        self._last: dict[tuple[str, str], int] = {}

    def start(self, parent: Any) -> None:
        hosting: Hosting | None = getattr(parent.app, "bus_hosting", None)
        if hosting is None:
            return
        self._bus = Bus(hosting.settings, app=parent.app).start()
        for agent in hosting.agents.values():
            self._bus.register_agent(agent.name, channels=agent.channels)
        logger.info("hosting agents: %s", ", ".join(hosting.agents) or "none")
        self.sweep(hosting, first=True)
        self._timer = parent.timer.call_repeatedly(
            hosting.settings.sweep_interval, self.sweep, (hosting,)
        )

    def stop(self, parent: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._bus is not None:
            self._bus.stop()
            self._bus = None

    def sweep(self, hosting: Hosting, first: bool = False) -> None:
        """Re-send a delivery for each stream a hosted agent is stuck behind on."""
        bus = self._bus
        if bus is None:
            return
        try:
            for agent in hosting.agents:
                for stream, position, head in bus.store.backlog(agent):
                    key = (agent, stream)
                    stuck = first or self._last.get(key) == position
                    self._last[key] = position
                    if not stuck:
                        continue
                    channel = Stream.parse(stream).channel
                    logger.info(
                        "%s is behind on %s (%s < %s): delivering again",
                        agent,
                        stream,
                        position,
                        head,
                    )
                    bus.broker.publish([Delivery(agent, channel, head)])
        except Exception:
            logger.exception("sweeping for stalled streams failed")

"""Turning a Celery app into a worker that hosts agents.

:func:`install` registers the ``bus.deliver`` and ``bus.replay`` tasks, points the worker at the
hosted agents' queues, chooses the pool for I/O-bound agents, and adds :class:`HostAgents`, a
consumer bootstep that registers the agents (queues, bindings, subscriptions) when the worker
connects and then sweeps: it re-sends a delivery for any stream where a hosted agent is behind
and has not moved since the last sweep (a publisher that died between storing and publishing, a
worker that died mid-run, a delivery dropped with its binding).

Each worker process has one :class:`~bus.Bus` on the worker's own app, and one
:class:`~bus.worker.runtime.Runtime` given that bus (:class:`Hosting`); a prefork child makes
its own after the fork.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from celery import Celery, Task, bootsteps, signals
from celery.exceptions import Reject

from bus.core import Bus
from bus.errors import ConfigurationError, HandlerFailed
from bus.streams import Stream
from bus.topology import Topology
from bus.urls import scheme_of
from bus.wire import DELIVER_TASK, REPLAY_TASK, Delivery
from bus.worker.agent import Agent
from bus.worker.outcomes import Status
from bus.worker.recovery import Registration
from bus.worker.runtime import Runtime
from config.settings import BusSettings

logger = logging.getLogger(__name__)

#: Seconds before a delivery whose run the store failed under is tried again.
STORE_RETRY = 1.0


class Hosting:
    """What a worker app hosts, and the bus and runtime of the current process."""

    def __init__(self, app: Celery, settings: BusSettings, agents: dict[str, Agent]) -> None:
        self.app = app
        self.settings = settings
        self.agents = agents
        self._lock = threading.Lock()
        self._bus: Bus | None = None
        self._runtime: Runtime | None = None
        self._pid = 0
        self._closed = False

    def _forked(self) -> None:
        if self._pid != os.getpid():  # a prefork child: what the parent made is not ours
            self._bus, self._runtime, self._pid = None, None, os.getpid()
            self._closed = False

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


def _explicit_pool(argv: list[str]) -> str | None:
    """The pool named on the command line. Celery's ``--pool`` defaults to ``prefork``, and a
    configured ``worker_pool`` overrides that default, so an explicit ``--pool prefork`` would
    be taken for no option at all: read it from the command line instead."""
    for index, arg in enumerate(argv):
        if arg in ("-P", "--pool") and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--pool="):
            return arg.split("=", 1)[1]
        if arg.startswith("-P") and len(arg) > 2:
            return arg[2:]
    return None


def _configure_pool(app: Celery, settings: BusSettings, argv: list[str]) -> None:
    pool = _explicit_pool(argv) or settings.worker_pool
    if scheme_of(settings.broker_url) == "memory" and pool in ("prefork", "processes"):
        raise ConfigurationError(
            "memory:// lives in one process: a prefork child's publishes would stay in its own "
            "memory. Use the threads pool (the default) or a broker (BUS_BROKER_URL=redis://...)",
            setting="BUS_WORKER_POOL",
        )
    app.conf.worker_pool = pool
    if pool == "threads":
        app.conf.worker_concurrency = settings.worker_concurrency


def install(app: Celery, settings: BusSettings, agents: dict[str, Agent]) -> Hosting:
    """Make ``app`` host ``agents``: tasks, queues, worker defaults and the bootstep."""
    hosting = Hosting(app, settings, agents)
    app.bus_hosting = hosting

    # shared=False: Celery would otherwise add these closures to every app made later in the
    # process, and the first one registered would serve them all.
    @app.task(
        name=DELIVER_TASK,
        shared=False,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
        time_limit=settings.handler_time_limit,
    )
    def deliver(
        self: Task, agent: str, channel: str | None, seq: int, message_id: str | None = None
    ) -> dict[str, Any]:
        runtime = hosting.runtime
        outcome = runtime.deliver(agent, channel, seq, self.request.id)
        if outcome.status is Status.FAILED:
            raise HandlerFailed(outcome.error or "the handlers failed", agent=agent, seq=seq)
        if outcome.status is Status.INTERRUPTED:
            if runtime.stopping:  # back to the broker: the next worker delivers it again
                raise Reject(outcome.error or "interrupted", requeue=True)
            # The store failed under the run: try again in a while, not in a tight loop.
            raise self.retry(countdown=STORE_RETRY, max_retries=None)
        return {
            "agent": agent,
            "channel": channel,
            "seq": seq,
            "status": outcome.status.value,
            "handled": outcome.handled,
        }

    @app.task(
        name=REPLAY_TASK,
        shared=False,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
        time_limit=settings.handler_time_limit,
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
        return _replay(hosting, self.request.id, agent, message)

    topology = Topology(settings.namespace)  # queue names only: nothing is connected here
    app.conf.task_queues = [topology.agent_queue(name) for name in agents]
    app.conf.worker_send_task_events = settings.worker_events
    _configure_pool(app, settings, sys.argv)
    app.steps["consumer"].add(HostAgents)
    _connect_process_signals(hosting)
    return hosting


def _replay(hosting: Hosting, task_id: str, agent: str, message: dict[str, Any]) -> dict[str, Any]:
    from bus.deadletters import DeadLetter, dead_letter, refuse
    from bus.errors import AuthenticationFailed
    from bus.message import Message

    runtime = hosting.runtime
    decoded = Message.from_dict(message)
    stream = Stream.of(agent, decoded.channel)
    try:  # a replay carries its message: anyone who can write the queue could have made it
        runtime.bus.guard.admit(decoded, stream, agent=agent)
    except AuthenticationFailed as exc:
        if decoded.seq is not None:
            refuse(runtime.bus, agent, decoded, stream, exc)
        logger.warning("refused a replay to %s: %s", agent, exc)
        return {"agent": agent, "refused": exc.context.get("reason"), "seq": decoded.seq}
    error = runtime.replay(agent, message, task_id)
    if error is not None:
        letter = DeadLetter(
            agent=agent,
            channel=decoded.channel,
            seq=decoded.seq or 0,
            message=decoded,
            error=f"replay failed: {error}",
            attempts=1,
            task_id=task_id,
        )
        dead_letter(runtime.bus, letter)
        raise HandlerFailed(f"replay failed: {error}", agent=agent)
    return {"agent": agent, "replayed": str(decoded.id), "seq": decoded.seq}


def _connect_process_signals(hosting: Hosting) -> None:
    # Prefork children: start the runtime (its startup hooks) after the fork, stop it on exit.
    def child_started(**_: Any) -> None:
        hosting.runtime  # noqa: B018 - made for its side effect: the hooks run now

    def child_stopping(**_: Any) -> None:
        hosting.close()

    def shutting_down(**_: Any) -> None:
        hosting.begin_shutdown()

    signals.worker_process_init.connect(child_started, weak=False)
    signals.worker_process_shutdown.connect(child_stopping, weak=False)
    signals.worker_shutting_down.connect(shutting_down, weak=False)


class HostAgents(bootsteps.StartStopStep):
    """Register the hosted agents when the worker connects, then sweep now and then."""

    requires = ("celery.worker.consumer.connection:Connection",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._hosting: Hosting | None = None
        self._timer: Any = None
        self._last: dict[tuple[str, str], int] = {}
        self._registration: Registration | None = None

    def start(self, parent: Any) -> None:
        hosting: Hosting | None = getattr(parent.app, "bus_hosting", None)
        if hosting is None:
            return
        self._hosting = hosting
        if self._registration is None:
            self._registration = Registration(list(hosting.agents.values()))
        # The consumer restarts when the broker connection comes back: the store may have lost
        # its state meanwhile (a Redis broker and store restarted empty).
        self._registration.on_connect(hosting.bus)
        if parent.app.conf.worker_pool not in ("prefork", "processes"):
            hosting.runtime  # noqa: B018 - handlers run in this process: start hooks now
        logger.info("hosting agents: %s", ", ".join(hosting.agents) or "none")
        self.sweep(first=True)
        self._timer = parent.timer.call_repeatedly(hosting.settings.sweep_interval, self.sweep)

    def stop(self, parent: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def shutdown(self, parent: Any) -> None:
        if self._hosting is not None:
            self._hosting.close()
            self._hosting = None

    def sweep(self, first: bool = False) -> None:
        """Re-send a delivery for each stream a hosted agent is stuck behind on."""
        hosting = self._hosting
        if hosting is None:
            return
        try:
            bus = hosting.bus
            if self._registration is not None and self._registration.on_sweep(bus):
                self._last.clear()
                first = True
            for agent in hosting.agents:
                for stream, position, head in bus.store.backlog(agent):
                    key = (agent, stream)
                    stuck = first or self._last.get(key) == position
                    self._last[key] = position
                    if not stuck:
                        continue
                    logger.info(
                        "%s is behind on %s (%s < %s): delivering again",
                        agent,
                        stream,
                        position,
                        head,
                    )
                    channel = Stream.parse(stream).channel
                    bus.broker.publish([Delivery(agent, channel, head)])
        except Exception:
            logger.exception("sweeping for stalled streams failed")

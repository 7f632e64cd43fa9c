"""Turning a Celery app into a worker that hosts agents.

:func:`install` registers the ``bus.deliver`` and ``bus.replay`` tasks, points the worker at the
hosted agents' queues, chooses the pool for I/O-bound agents, connects the process signals and
adds the consumer bootstep (:mod:`bus.worker.bootstep`) that registers the agents and sweeps for
stalled streams. Each worker process has one :class:`~bus.Bus` on the worker's own app and one
:class:`~bus.worker.runtime.Runtime` given that bus (:mod:`bus.worker.process`); a prefork child
makes its own after the fork.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from celery import Celery, Task, signals
from celery.exceptions import Reject

from bus.broker.topology import Topology
from bus.broker.wire import DELIVER_TASK, REPLAY_TASK
from bus.channels import Stream
from bus.errors import ConfigurationError, HandlerFailed
from bus.settings import BusSettings
from bus.settings.urls import scheme_of
from bus.worker.agent import Agent
from bus.worker.bootstep import HostAgents
from bus.worker.outcomes import Status
from bus.worker.process import Hosting

logger = logging.getLogger(__name__)

#: Seconds before a delivery whose run the store failed under is tried again.
STORE_RETRY = 1.0


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


def install(app: Celery, settings: BusSettings, agents: Mapping[str, Agent]) -> Hosting:
    """Make ``app`` host ``agents`` (an :class:`~bus.worker.agent_registry.AgentRegistry`, or
    agents by name): tasks, queues, worker defaults and the bootstep."""
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
    app.conf.task_queues = [topology.agent_queue(name) for name in hosting.agents]
    app.conf.worker_send_task_events = settings.worker_events
    _configure_pool(app, settings, sys.argv)
    app.steps["consumer"].add(HostAgents)
    _connect_process_signals(hosting)
    return hosting


def _replay(hosting: Hosting, task_id: str, agent: str, message: dict[str, Any]) -> dict[str, Any]:
    from bus.deadletters.operations import DeadLetter, dead_letter, refuse
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

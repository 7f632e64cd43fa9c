"""A Celery app that hosts agents: the broker's app with the delivery tasks, the worker's pool,
queues, process signals and bootstep installed (what ``celery -A bus worker`` runs).

:func:`install` gives the app a :class:`~bus.worker.hosting.Hosting` of its agents (an
:class:`~bus.worker.agent_registry.AgentRegistry`), registers the tasks of
:mod:`bus.worker.tasks`, points the worker at the hosted agents' queues, chooses the pool for
I/O-bound agents, connects :mod:`bus.worker.process_signals` and adds the consumer bootstep
(:mod:`bus.worker.bootstep`) that registers the agents and sweeps for stalled streams.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from celery import Celery

from bus.broker.celery_app import create_app
from bus.broker.topology import Topology
from bus.errors import ConfigurationError
from bus.settings import BusSettings
from bus.settings.transports import transport_of
from bus.worker.agent import Agent
from bus.worker.agent_registry import load_agents
from bus.worker.bootstep import HostAgents
from bus.worker.hosting import Hosting
from bus.worker.process_signals import connect_process_signals
from bus.worker.shared_deliveries import TaskConsumer
from bus.worker.tasks import register_tasks


def create_worker_app(settings: BusSettings, agents: Mapping[str, Agent] | None = None) -> Celery:
    """A Celery app that hosts ``agents`` (an :class:`~bus.worker.AgentRegistry`), by default
    those ``BUS_AGENT_MODULES`` define (the ones ``BUS_AGENTS`` names, if set)."""
    if agents is None:
        agents = load_agents(settings.agent_modules, settings.agents)
    app = create_app(settings)
    install(app, settings, agents)
    return app


def install(app: Celery, settings: BusSettings, agents: Mapping[str, Agent]) -> Hosting:
    """Make ``app`` host ``agents`` (an :class:`~bus.worker.agent_registry.AgentRegistry`, or
    agents by name): tasks, queues, worker defaults and the bootstep.

    Returns:
        The app's hosting; ``hosting.agents`` is its registry (sealed: later agents are refused).
    """
    hosting = Hosting(app, settings, agents)
    register_tasks(app, settings)
    # Queue names and arguments only: nothing is connected here.
    topology = Topology(settings.namespace, queue_type=settings.queue_type)
    app.conf.task_queues = [topology.agent_queue(name) for name in hosting.agents]
    # Its task consumer says whose queue a consumer tag reads (shared deliveries, RabbitMQ).
    app.amqp.Consumer = TaskConsumer
    app.conf.worker_send_task_events = settings.worker_events
    _configure_pool(app, settings, sys.argv)
    app.steps["consumer"].add(HostAgents)
    connect_process_signals(hosting)
    return hosting


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
    if not transport_of(settings.broker_url).prefork and pool in ("prefork", "processes"):
        raise ConfigurationError(
            "memory:// lives in one process: a prefork child's publishes would stay in its own "
            "memory. Use the threads pool (the default) or a broker (BUS_BROKER_URL=redis://...)",
            setting="BUS_WORKER_POOL",
        )
    app.conf.worker_pool = pool
    if pool == "threads":
        app.conf.worker_concurrency = settings.worker_concurrency

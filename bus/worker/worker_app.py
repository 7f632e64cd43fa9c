"""A Celery app that hosts agents: the broker's app with the delivery tasks and the worker's
signals and bootstep installed (what ``celery -A bus worker`` runs)."""

from __future__ import annotations

from collections.abc import Mapping

from celery import Celery

from bus.broker.deliveries import create_app
from bus.settings import BusSettings
from bus.worker.agent import Agent
from bus.worker.agent_registry import load_agents
from bus.worker.hosting import install


def create_worker_app(settings: BusSettings, agents: Mapping[str, Agent] | None = None) -> Celery:
    """A Celery app that hosts ``agents`` (an :class:`~bus.worker.AgentRegistry`), by default
    those ``BUS_AGENT_MODULES`` define (the ones ``BUS_AGENTS`` names, if set)."""
    if agents is None:
        agents = load_agents(settings.agent_modules, settings.agents)
    app = create_app(settings)
    install(app, settings, agents)
    return app

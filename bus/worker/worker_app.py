"""A Celery app that hosts agents: the broker's app with the delivery tasks and the worker's
signals and bootstep installed (what ``celery -A bus worker`` runs)."""

from __future__ import annotations

from celery import Celery

from bus.broker.celery_app import create_app
from bus.settings import BusSettings
from bus.worker.agent import load_agents
from bus.worker.hosting import install


def create_worker_app(settings: BusSettings) -> Celery:
    """A Celery app that hosts the agents of ``BUS_AGENT_MODULES`` (those of ``BUS_AGENTS``)."""
    app = create_app(settings)
    install(app, settings, load_agents(settings.agent_modules, settings.agents))
    return app

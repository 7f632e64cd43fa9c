"""Celery workers that host agents: declare agents with :class:`Agent`, run them with
``celery -A bus worker`` (or :class:`EmbeddedWorker` in this process on ``memory://``)."""

from bus.store.contracts.guards import AgentLimits
from bus.worker.agent import Agent
from bus.worker.agent_registry import AgentRegistry, load_agents
from bus.worker.context import AgentState, AsyncHandlerContext, Context, HandlerContext
from bus.worker.embedded import EmbeddedWorker
from bus.worker.worker_app import create_worker_app, install

__all__ = [
    "Agent",
    "AgentLimits",
    "AgentRegistry",
    "AgentState",
    "AsyncHandlerContext",
    "Context",
    "EmbeddedWorker",
    "HandlerContext",
    "create_worker_app",
    "install",
    "load_agents",
]

"""A module that defines no agent: naming it in BUS_AGENT_MODULES is a configuration error."""

from __future__ import annotations

from bus.worker import Agent

#: A reference to the class is not an agent.
AGENT_CLASS = Agent

"""The agents a worker hosts: an explicit registry, filled by hand or from agent modules.

    from bus.worker import AgentRegistry, install

    agents = AgentRegistry()
    reviewer = agents.agent("reviewer", channels=["#code-review"])   # or agents.add(Agent(...))
    install(app, settings, agents)

An agent module (``workers/company.py``) stays a plain module: ``alice = Agent("alice", ...)`` at
module level. :func:`load_agents` imports it and collects the agents it holds as module
attributes (an :class:`~bus.worker.agent.Agent`, or the agents of an :class:`AgentRegistry`), the
way Celery's autodiscovery imports ``tasks`` modules. Nothing is kept per process: two worker apps
of one process each have their own registry, and each may host an agent called ``alice``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType

from bus.errors import ConfigurationError
from bus.worker.agent import Agent


class AgentRegistry(Mapping[str, Agent]):
    """Agents by name: what one worker app hosts (a read-only mapping once installed).

    Args:
        agents: Agents to add, in order.

    Raises:
        ConfigurationError: two different agents have the same name.
    """

    def __init__(self, agents: Iterable[Agent] = ()) -> None:
        self._agents: dict[str, Agent] = {}
        self._installed = False
        for agent in agents:
            self.add(agent)

    @classmethod
    def of(cls, agents: Mapping[str, Agent]) -> AgentRegistry:
        """``agents`` if it is a registry, else a registry of its agents."""
        return agents if isinstance(agents, AgentRegistry) else cls(agents.values())

    def add(self, agent: Agent) -> Agent:
        """Add ``agent`` (again: nothing happens) and return it.

        Raises:
            ConfigurationError: another agent of this registry has its name, or a worker app
                hosts the registry already (its queues are fixed when it is installed).
        """
        existing = self._agents.get(agent.name)
        if existing is agent:
            return agent
        if existing is not None:
            raise ConfigurationError(
                f"agent {agent.name!r} is defined twice in one registry", agent=agent.name
            )
        if self._installed:
            raise ConfigurationError(
                f"agent {agent.name!r} comes too late: a worker app hosts this registry already "
                "(define agents before install())",
                agent=agent.name,
            )
        self._agents[agent.name] = agent
        return agent

    def agent(
        self,
        name: str,
        *,
        channels: Iterable[str] = (),
        description: str = "",
        timeout: float | None = None,
        receive_own: bool = False,
    ) -> Agent:
        """Define an agent in this registry (see :class:`~bus.worker.agent.Agent`)."""
        return self.add(
            Agent(
                name,
                channels=channels,
                description=description,
                timeout=timeout,
                receive_own=receive_own,
            )
        )

    def load(self, module: str, origin: str = "BUS_AGENT_MODULES") -> list[Agent]:
        """Import agent module ``module`` (from the working directory too) and add its agents.
        ``origin``: where the module was named, for the error messages.

        Returns:
            The agents it defines, in definition order.

        Raises:
            ConfigurationError: it cannot be imported (or raises as it is), defines no agent,
                or defines an agent this registry has another of.
        """
        try:
            imported = import_from_working_directory(module)
        except ImportError as exc:
            raise ConfigurationError(
                f"cannot import agent module {module!r} ({origin}): {exc}", module=module
            ) from exc
        except Exception as exc:  # a module that fails as it runs: a clear line, no traceback
            raise ConfigurationError(
                f"agent module {module!r} ({origin}) failed as it was imported: "
                f"{type(exc).__name__}: {exc}",
                module=module,
            ) from exc
        found = agents_of(imported)
        if not found:
            raise ConfigurationError(
                f"agent module {module!r} defines no agent (no module attribute is an Agent "
                "or an AgentRegistry)",
                module=module,
            )
        for agent in found:
            self.add(agent)
        return found

    def seal(self) -> AgentRegistry:
        """Mark the registry as hosted by a worker app (called by ``install``): later agents
        are refused rather than silently left without a queue."""
        self._installed = True
        return self

    def __getitem__(self, name: str) -> Agent:
        return self._agents[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._agents)

    def __len__(self) -> int:
        return len(self._agents)

    def __repr__(self) -> str:
        return f"AgentRegistry({list(self._agents)!r})"


def agents_of(module: ModuleType) -> list[Agent]:
    """The agents ``module`` holds as attributes (directly or in an :class:`AgentRegistry`).

    Raises:
        ConfigurationError: two different agents of the module have the same name.
    """
    found = AgentRegistry()
    for value in list(vars(module).values()):
        candidates = value.values() if isinstance(value, AgentRegistry) else [value]
        for candidate in candidates:
            if isinstance(candidate, Agent):
                try:
                    found.add(candidate)
                except ConfigurationError as exc:
                    raise ConfigurationError(
                        f"agent module {module.__name__!r} defines agent {candidate.name!r} twice",
                        module=module.__name__,
                        agent=candidate.name,
                    ) from exc
    return list(found.values())


def import_from_working_directory(module: str) -> ModuleType:
    """Import ``module`` the way ``celery -A proj`` finds ``proj``: from the working directory
    too, so agent modules (``workers/`` of a checkout, or your own) need no install."""
    cwd = os.getcwd()
    if cwd in sys.path or "" in sys.path:
        return importlib.import_module(module)
    sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module)
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(cwd)


def load_agents(modules: Iterable[str], names: Iterable[str] = ()) -> AgentRegistry:
    """A registry of the agents that agent modules define, for a worker to host.

    Args:
        modules: Module paths, e.g. ``("workers.company",)``; each is imported (once per
            process, as any import) and its agents collected, however often it is loaded.
        names: Agents to host; empty means every agent the modules define (by name).

    Raises:
        ConfigurationError: a module cannot be imported or defines no agent, two modules define
            different agents of one name, or a named agent is not defined.
    """
    defined = AgentRegistry()
    for module in modules:
        defined.load(module)
    wanted = list(names)
    missing = [name for name in wanted if name not in defined]
    if missing:
        raise ConfigurationError(
            f"BUS_AGENTS names agents the modules do not define: {', '.join(missing)} "
            f"(defined: {', '.join(sorted(defined)) or 'none'})",
            agents=missing,
        )
    return AgentRegistry(defined[name] for name in (wanted or sorted(defined)))

"""What a registry knows without asking the store: channel specs and registered agents.

The cache never hides a change: the store appends only for the spec version it holds (a
publisher with an older one re-reads it, :meth:`RegistryCache.refresh`), and a store that lost
its state says so (``StoreReset``), which clears the cache (:meth:`RegistryCache.store_reset`)
and is logged once, loudly, with what this process knew.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bus.channels import ChannelSpec
from bus.errors import StoreReset, UnknownAgent, UnknownChannel
from bus.names import check_agent_name, check_channel_name
from bus.store import Store

#: The registry's logger, not this module's: the store-reset report keeps the name that
#: operators (and the fault tests) filter on.
logger = logging.getLogger("bus.registry.service")


class RegistryCache:
    """Channel specs and registered agents of one bus, read through from its store.

    Args:
        store: Returns the started bus's store (raises ``BusNotStarted`` otherwise).
    """

    def __init__(self, store: Callable[[], Store]) -> None:
        self._store = store
        self._specs: dict[str, ChannelSpec] = {}
        #: Agents known to be registered; the registry and its bulk side add and discard them.
        self.known_agents: set[str] = set()

    def spec(self, name: str) -> ChannelSpec:
        """The channel's spec.

        Raises:
            InvalidName: not a channel name. UnknownChannel: there is no such channel.
        """
        spec = self._specs.get(name) if isinstance(name, str) else None
        if spec is None:
            check_channel_name(name)
            store = self._store()
            spec = store.registry.get_channel(name)
            if spec is None:
                store.epochs.verify()  # gone with the store's state: say that, not "unknown"
                raise UnknownChannel(f"no channel named {name!r}", channel=name)
            self._specs[name] = spec
        return spec

    def refresh(self, spec: ChannelSpec) -> ChannelSpec:
        """Cache ``spec``, newer than the cached one (the store said so); returns it."""
        self._specs[spec.name] = spec
        return spec

    def drop(self, name: str) -> None:
        """Forget the cached spec of a channel the store does not know (any more)."""
        self._specs.pop(name, None)

    def require_agent(self, agent: str) -> None:
        """Raise unless ``agent`` is registered.

        Raises:
            InvalidName: not an agent name. UnknownAgent: not registered.
        """
        if isinstance(agent, str) and agent in self.known_agents:
            return
        check_agent_name(agent)
        store = self._store()
        if not store.registry.is_agent(agent):
            store.epochs.verify()
            raise UnknownAgent(f"no agent named {agent!r} is registered", agent=agent)
        self.known_agents.add(agent)

    def forget(self) -> None:
        """Drop the caches (after the bus's state was destroyed)."""
        self._specs.clear()
        self.known_agents.clear()

    def store_reset(self, error: StoreReset) -> None:
        """The store lost its state: say, loudly, what this process knew, and forget it."""
        if error.found is None:
            logger.error(
                "STORE RESET: %s. Known here and now gone: channels %s; agents %s. Messages "
                "not yet handled and every agent's position are lost; publishes fail with "
                "StoreReset until a worker re-registers its agents (or a bus starts).",
                error.message,
                ", ".join(sorted(self._specs)) or "none",
                ", ".join(sorted(self.known_agents)) or "none",
            )
        else:
            logger.warning(
                "store reset: %s. This process now uses epoch %s; channels %s and agents %s "
                "are read again from the store.",
                error.message,
                error.found,
                ", ".join(sorted(self._specs)) or "none",
                ", ".join(sorted(self.known_agents)) or "none",
            )
        self.forget()

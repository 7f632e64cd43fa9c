"""Registering many agents and subscriptions at once: the bulk side of
:mod:`bus.registry.service`.

Queues and bindings are declared in batches on one broker connection, the store is written in
one step per batch, and what exists already costs one store read for all of it and no broker
round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from bus.access.guard import Action, Guard
from bus.broker.deliveries import Broker
from bus.channels import ChannelSpec, Stream
from bus.names import check_agent_name
from bus.store import Store


class BulkRegistration:
    """The bulk side of a :class:`~bus.registry.service.Registry`: it shares the registry's
    store, broker, guard and cache of known agents, and asks it for channel specs and agents.

    Args:
        store: Returns the started bus's store.
        broker: Where queues and bindings are declared.
        guard: Who may subscribe whom to what.
        spec: The registry's (cached) spec of a channel; raises ``UnknownChannel``.
        require_agent: The registry's check that an agent is registered.
        known_agents: The registry's cache of agents known to be registered (updated here).
    """

    def __init__(
        self,
        store: Callable[[], Store],
        broker: Broker,
        guard: Guard,
        spec: Callable[[str], ChannelSpec],
        require_agent: Callable[[str], None],
        known_agents: set[str],
    ) -> None:
        self._store = store
        self._broker = broker
        self._guard = guard
        self.spec = spec
        self.require_agent = require_agent
        self._known_agents = known_agents

    def register_agents(self, agents: Mapping[str, Iterable[str]]) -> None:
        """See :meth:`bus.Bus.register_agents`."""
        wanted = {agent: list(channels) for agent, channels in agents.items()}
        for agent in wanted:
            check_agent_name(agent)
        pairs = [(agent, name) for agent, names in wanted.items() for name in names]
        self._check_pairs(pairs)
        store = self._store().registry
        listed = list(wanted)
        new = [a for a, known in zip(listed, store.registered(listed), strict=True) if not known]
        if new:
            broadcast = [spec.name for spec in store.list_channels() if spec.kind == "broadcast"]
            with self._broker.connection() as connection:
                self._broker.topology.declare_many(
                    connection, new, [(agent, name) for agent in new for name in broadcast]
                )
            store.register_agents(new)
        self._known_agents.update(listed)
        self._subscribe_pairs(pairs)

    def subscribe_many(self, agent: str, channels: Iterable[str]) -> list[bool]:
        """See :meth:`bus.Bus.subscribe_many`."""
        self.require_agent(agent)
        pairs = [(agent, name) for name in channels]
        self._check_pairs(pairs)
        return self._subscribe_pairs(pairs)

    def _check_pairs(self, pairs: list[tuple[str, str]]) -> None:
        """Raise unless every channel exists and the guard lets each agent subscribe."""
        for agent, name in pairs:
            self.spec(name)
            self._guard.check(Action.SUBSCRIBE, Stream.of_channel(name), agent=agent)

    def _subscribe_pairs(self, pairs: list[tuple[str, str]]) -> list[bool]:
        """Subscribe each (checked) pair; those that exist cost one store read for all, and no
        broker round trip. Returns whether each pair is a new membership."""
        if not pairs:
            return []
        store = self._store().registry
        existing = store.subscriptions_of(list(dict.fromkeys(agent for agent, _ in pairs)))
        missing = list(dict.fromkeys(pair for pair in pairs if pair[1] not in existing[pair[0]]))
        if not missing:
            return [False] * len(pairs)
        with self._broker.connection() as connection:
            self._broker.topology.declare_many(connection, [], missing)
        added = {
            pair for pair, new in zip(missing, store.subscribe_many(missing), strict=True) if new
        }
        results: list[bool] = []
        for pair in pairs:
            results.append(pair in added)
            added.discard(pair)  # a pair named twice is new only the first time
        return results

"""The registry part of :class:`~bus.store.memory.MemoryStore` (see
:class:`~bus.store.contracts.registry.RegistryStore`): channels, agents, memberships."""

from __future__ import annotations

from collections.abc import Sequence

from bus.channels import ChannelKind, ChannelSpec, Stream
from bus.errors import UnknownChannel, channel_exists
from bus.store.contracts.registry import RegistryStore
from bus.store.memory.tables import MemoryTables


class MemoryRegistry(RegistryStore):
    """Channels, agents and memberships in memory.

    Args:
        tables: The store's state.
    """

    def __init__(self, tables: MemoryTables) -> None:
        self._tables = tables

    def create_channel(self, spec: ChannelSpec) -> bool:
        tables = self._tables
        with tables.lock:
            existing = tables.channels.get(spec.name)
            if existing is not None:
                if not existing.same_as(spec):
                    raise channel_exists(existing)
                return False
            tables.channels[spec.name] = spec
            if spec.kind is ChannelKind.BROADCAST:
                for agent in tables.agents:
                    self._join(agent, spec.name)
            return True

    def update_channel(self, spec: ChannelSpec, replaces: int) -> bool:
        tables = self._tables
        with tables.lock:
            existing = tables.channels.get(spec.name)
            if existing is None:
                raise UnknownChannel(f"no channel named {spec.name!r}", channel=spec.name)
            if existing.version != replaces:
                return False
            tables.channels[spec.name] = spec
            if spec.kind is ChannelKind.BROADCAST:
                for agent in tables.agents:
                    self._join(agent, spec.name)
            return True

    def get_channel(self, name: str) -> ChannelSpec | None:
        return self._tables.channels.get(name)

    def list_channels(self) -> list[ChannelSpec]:
        with self._tables.lock:
            return sorted(self._tables.channels.values(), key=lambda spec: spec.name)

    def register_agent(self, agent: str) -> bool:
        tables = self._tables
        with tables.lock:
            if agent in tables.agents:
                return False
            tables.agents.add(agent)
            inbox = Stream.of_inbox(agent).id
            tables.positions[agent][inbox] = tables.head(inbox)
            for spec in tables.channels.values():
                if spec.kind is ChannelKind.BROADCAST:
                    self._join(agent, spec.name)
            return True

    def unregister_agent(self, agent: str) -> list[str] | None:
        tables = self._tables
        with tables.lock:
            if agent not in tables.agents:
                return None
            left = sorted(name for name, members in tables.members.items() if agent in members)
            for name in left:
                tables.members[name].discard(agent)
            for stream in tables.positions.pop(agent, {}):
                tables.leases.pop((agent, stream), None)
                tables.failures.pop((agent, stream), None)
                tables.signals.get(stream, {}).pop(agent, None)
                tables.started.pop((agent, stream), None)
            tables.agents.discard(agent)
            return left

    def is_agent(self, agent: str) -> bool:
        return agent in self._tables.agents

    def agents(self) -> list[str]:
        with self._tables.lock:
            return sorted(self._tables.agents)

    def subscribe(self, agent: str, channel: str) -> bool:
        with self._tables.lock:
            return self._join(agent, channel)

    def _join(self, agent: str, channel: str) -> bool:
        tables = self._tables
        if agent in tables.members[channel]:
            return False
        tables.members[channel].add(agent)
        stream = Stream.of_channel(channel).id
        tables.positions[agent][stream] = tables.head(stream)
        return True

    def unsubscribe(self, agent: str, channel: str) -> bool:
        tables = self._tables
        with tables.lock:
            if agent not in tables.members.get(channel, ()):
                return False
            tables.members[channel].discard(agent)
            tables.positions[agent].pop(Stream.of_channel(channel).id, None)
            tables.signals[Stream.of_channel(channel).id].pop(agent, None)
            return True

    def members(self, channel: str) -> list[str]:
        with self._tables.lock:
            return sorted(self._tables.members.get(channel, ()))

    def subscriptions(self, agent: str) -> list[str]:
        with self._tables.lock:
            return sorted(
                name for name, members in self._tables.members.items() if agent in members
            )

    def register_agents(self, agents: Sequence[str]) -> list[bool]:
        with self._tables.lock:
            return [self.register_agent(agent) for agent in agents]

    def registered(self, agents: Sequence[str]) -> list[bool]:
        return [agent in self._tables.agents for agent in agents]

    def subscribe_many(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        with self._tables.lock:
            return [self._join(agent, channel) for agent, channel in pairs]

    def subscriptions_of(self, agents: Sequence[str]) -> dict[str, set[str]]:
        with self._tables.lock:
            found: dict[str, set[str]] = {agent: set() for agent in agents}
            for name, members in self._tables.members.items():
                for agent in members.intersection(found):
                    found[agent].add(name)
            return found

"""The registry: channels, agents and subscriptions, in the store and on the broker.

Every change is made on both sides, broker first where the broker must be ready before the
store says so (an agent's queue exists before it is a member of anything), and validated before
either side changes. Channel specs and known agents are cached: a channel never changes once
created and an agent is never removed while the bus runs (:meth:`Registry.forget` clears both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from bus.broker import Broker
from bus.channels import ChannelInfo, ChannelKind, ChannelSpec, Retention
from bus.errors import InvalidArgument, UnknownAgent, UnknownChannel
from bus.guard import Action, Guard
from bus.names import check_agent_name, check_channel_name
from bus.store import Store
from bus.streams import Stream
from config.settings import BusSettings


class Registry:
    """Channels, agents and memberships of one bus.

    Args:
        settings: The bus's settings (default retention, default channels).
        broker: Where exchanges, queues and bindings are declared.
        store: Returns the started bus's store (raises ``BusNotStarted`` otherwise).
        guard: Who may subscribe whom to what.
    """

    def __init__(
        self, settings: BusSettings, broker: Broker, store: Callable[[], Store], guard: Guard
    ) -> None:
        self._settings = settings
        self._guard = guard
        self._broker = broker
        self._store = store
        #: Retention of channels created without one, and of direct-message inboxes.
        self.default_retention = Retention(
            max_messages=settings.retention_max_messages,
            max_age_seconds=settings.retention_max_age_seconds,
        )
        self._specs: dict[str, ChannelSpec] = {}
        self._known_agents: set[str] = set()

    def forget(self) -> None:
        """Drop the caches (after the bus's state was destroyed)."""
        self._specs.clear()
        self._known_agents.clear()

    # -- channels ------------------------------------------------------------------------------

    def create_defaults(self) -> None:
        """Create the settings' default channels and the dead-letter channel."""
        settings = self._settings
        for name in (*settings.default_channels, settings.dead_letter_channel):
            kind = ChannelKind.BROADCAST if name in settings.broadcast_channels else None
            self.create_channel(name, kind=kind or ChannelKind.TOPIC, retention=None)

    def create_channel(
        self, name: str, *, kind: ChannelKind | str, retention: Retention | None
    ) -> ChannelInfo:
        """See :meth:`bus.Bus.create_channel`."""
        check_channel_name(name)
        try:
            spec = ChannelSpec(
                name=name, kind=ChannelKind(kind), retention=retention or self.default_retention
            )
        except ValueError as exc:
            raise InvalidArgument(f"invalid channel kind {kind!r}: {exc}", channel=name) from None
        store = self._store()
        topology = self._broker.topology
        with self._broker.connection() as connection:
            topology.declare_channel(connection, name)
            created = store.create_channel(spec)
            if created and spec.kind is ChannelKind.BROADCAST:
                for agent in store.agents():
                    topology.bind(connection, agent, name)
        self._specs[name] = spec
        return self.channel_info(name)

    def spec(self, name: str) -> ChannelSpec:
        """The channel's spec.

        Raises:
            InvalidName: not a channel name. UnknownChannel: there is no such channel.
        """
        spec = self._specs.get(name) if isinstance(name, str) else None
        if spec is None:
            check_channel_name(name)
            spec = self._store().get_channel(name)
            if spec is None:
                raise UnknownChannel(f"no channel named {name!r}", channel=name)
            self._specs[name] = spec
        return spec

    def channel_info(self, name: str) -> ChannelInfo:
        """See :meth:`bus.Bus.get_channel`."""
        spec = self.spec(name)
        store = self._store()
        stream = Stream.of_channel(name).id
        return ChannelInfo(
            spec=spec,
            members=frozenset(store.members(name)),
            last_seq=store.head(stream),
            retained=store.retained(stream),
        )

    def list_channels(self) -> list[ChannelInfo]:
        """Every channel, sorted by name."""
        return [self.channel_info(spec.name) for spec in self._store().list_channels()]

    # -- agents --------------------------------------------------------------------------------

    def register_agent(self, agent: str, channels: Iterable[str] = ()) -> None:
        """See :meth:`bus.Bus.register_agent`."""
        check_agent_name(agent)
        wanted = list(channels)
        for name in wanted:
            self.spec(name)
        store = self._store()
        topology = self._broker.topology
        broadcast = [spec.name for spec in store.list_channels() if spec.kind == "broadcast"]
        with self._broker.connection() as connection:
            topology.declare_agent(connection, agent)
            for name in broadcast:
                topology.bind(connection, agent, name)
        store.register_agent(agent)
        self._known_agents.add(agent)
        for name in wanted:
            self.subscribe(agent, name)

    def register_agents(self, agents: Mapping[str, Iterable[str]]) -> None:
        """See :meth:`bus.Bus.register_agents`."""
        wanted = {agent: list(channels) for agent, channels in agents.items()}
        for agent in wanted:
            check_agent_name(agent)
        pairs = [(agent, name) for agent, names in wanted.items() for name in names]
        self._check_pairs(pairs)
        store = self._store()
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
        store = self._store()
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

    def require_agent(self, agent: str) -> None:
        """Raise unless ``agent`` is registered.

        Raises:
            InvalidName: not an agent name. UnknownAgent: not registered.
        """
        if isinstance(agent, str) and agent in self._known_agents:
            return
        check_agent_name(agent)
        if not self._store().is_agent(agent):
            raise UnknownAgent(f"no agent named {agent!r} is registered", agent=agent)
        self._known_agents.add(agent)

    def agents(self) -> list[str]:
        """Every registered agent, sorted."""
        return self._store().agents()

    def subscriptions(self, agent: str) -> list[str]:
        """See :meth:`bus.Bus.subscriptions`."""
        self.require_agent(agent)
        return self._store().subscriptions(agent)

    def subscribe(self, agent: str, channel: str) -> bool:
        """See :meth:`bus.Bus.subscribe`."""
        self.require_agent(agent)
        pairs = [(agent, channel)]
        self._check_pairs(pairs)
        return self._subscribe_pairs(pairs)[0]

    def unsubscribe(self, agent: str, channel: str) -> bool:
        """See :meth:`bus.Bus.unsubscribe`."""
        self.require_agent(agent)
        if self.spec(channel).kind is ChannelKind.BROADCAST:
            raise InvalidArgument(
                f"{channel!r} is a broadcast channel: every registered agent receives it",
                channel=channel,
                agent=agent,
            )
        left = self._store().unsubscribe(agent, channel)
        with self._broker.connection() as connection:
            self._broker.topology.unbind(connection, agent, channel)
        return left

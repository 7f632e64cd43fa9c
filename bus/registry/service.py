"""The registry: channels, agents and subscriptions, in the store and on the broker.

Every change is made on both sides, broker first where the broker must be ready before the
store says so (an agent's queue exists before it is a member of anything), and validated before
either side changes. Channel specs and known agents are cached
(:class:`~bus.registry.cache.RegistryCache`), which never hides a change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from bus.access.guard import Guard
from bus.broker.deliveries import Broker
from bus.channels import ChannelInfo, ChannelKind, ChannelSpec, Overflow, Retention, Stream
from bus.errors import ChannelExists, InvalidArgument, StoreReset, UnknownAgent
from bus.names import check_agent_name, check_channel_name
from bus.registry.bulk import BulkRegistration
from bus.registry.cache import RegistryCache
from bus.settings import BusSettings
from bus.store import Store

logger = logging.getLogger(__name__)


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
        #: Channel specs and registered agents, read through from the store.
        self.cache = RegistryCache(store)
        #: Many agents and subscriptions at once, over the same store, broker and caches.
        self.bulk = BulkRegistration(
            store, broker, guard, self.spec, self.require_agent, self.cache.known_agents
        )

    # -- the cache (see RegistryCache) ---------------------------------------------------------

    def spec(self, name: str) -> ChannelSpec:
        """See :meth:`RegistryCache.spec`."""
        return self.cache.spec(name)

    def require_agent(self, agent: str) -> None:
        """See :meth:`RegistryCache.require_agent`."""
        self.cache.require_agent(agent)

    def refresh(self, spec: ChannelSpec) -> ChannelSpec:
        """See :meth:`RegistryCache.refresh`."""
        return self.cache.refresh(spec)

    def drop(self, name: str) -> None:
        """See :meth:`RegistryCache.drop`."""
        self.cache.drop(name)

    def forget(self) -> None:
        """See :meth:`RegistryCache.forget`."""
        self.cache.forget()

    def store_reset(self, error: StoreReset) -> None:
        """See :meth:`RegistryCache.store_reset`."""
        self.cache.store_reset(error)

    # -- channels ------------------------------------------------------------------------------

    def create_defaults(self) -> None:
        """Create the settings' default channels and the dead-letter channel, and reconcile
        those that exist with the settings: kind (``BUS_BROADCAST_CHANNELS``) and, unless it
        was set for the channel, retention (``BUS_RETENTION_*``). Each change is logged."""
        settings = self._settings
        for name in (*settings.default_channels, settings.dead_letter_channel):
            kind = ChannelKind.BROADCAST if name in settings.broadcast_channels else None
            kind = kind or ChannelKind.TOPIC
            try:
                spec = self.create_channel(name, kind=kind, retention=None).spec
            except ChannelExists:  # made by other settings: reconciled below
                spec = self.spec(name)
            retention = None if spec.pinned else self.default_retention
            if spec.kind != kind or retention not in (None, spec.retention):
                self.update_channel(name, kind=kind, retention=retention, pin=False)

    def create_channel(
        self, name: str, *, kind: ChannelKind | str, retention: Retention | None
    ) -> ChannelInfo:
        """See :meth:`bus.Bus.create_channel`."""
        spec = self._new_spec(name, kind, retention)
        store = self._store()
        topology = self._broker.topology
        with self._broker.connection() as connection:
            topology.declare_channel(connection, name)
            created = store.registry.create_channel(spec)
            if created and spec.kind is ChannelKind.BROADCAST:
                for agent in store.registry.agents():
                    topology.bind(connection, agent, name)
        self.cache.drop(name)
        return self.channel_info(name)

    def _new_spec(
        self, name: str, kind: ChannelKind | str, retention: Retention | None
    ) -> ChannelSpec:
        check_channel_name(name)
        try:
            return ChannelSpec(
                name=name,
                kind=ChannelKind(kind),
                retention=retention or self.default_retention,
                pinned=retention is not None,
            )
        except ValueError as exc:
            raise InvalidArgument(f"invalid channel kind {kind!r}: {exc}", channel=name) from None

    def update_channel(
        self,
        name: str,
        *,
        retention: Retention | None = None,
        kind: ChannelKind | str | None = None,
        overflow: Overflow | str | None = None,
        pin: bool = True,
        max_hops: int | None = None,
    ) -> ChannelInfo:
        """See :meth:`bus.Bus.update_channel`. ``pin=False`` (a start reconciling the settings)
        leaves the retention following the settings' defaults."""
        if max_hops is not None and (isinstance(max_hops, bool) or max_hops < 0):
            raise InvalidArgument(f"max_hops must be >= 0, not {max_hops!r}", channel=name)
        store = self._store()
        while True:
            current = self.spec(name)
            stored = store.registry.get_channel(name) or current
            wanted = stored.model_copy(
                update={
                    "kind": stored.kind if kind is None else ChannelKind(kind),
                    "retention": stored.retention if retention is None else retention,
                    "overflow": stored.overflow if overflow is None else Overflow(overflow),
                    "max_hops": stored.max_hops if max_hops is None else (max_hops or None),
                    "pinned": stored.pinned or (pin and retention is not None),
                    "version": stored.version + 1,
                }
            )
            unchanged = wanted.pinned == stored.pinned and wanted.max_hops == stored.max_hops
            if wanted.same_as(stored) and unchanged:
                self.cache.refresh(stored)
                return self.channel_info(name)
            with self._broker.connection() as connection:
                if (
                    wanted.kind is ChannelKind.BROADCAST
                    and stored.kind is not ChannelKind.BROADCAST
                ):
                    # bound before the store says they are members
                    for agent in store.registry.agents():
                        self._broker.topology.bind(connection, agent, name)
                if store.registry.update_channel(wanted, stored.version):
                    break
        self.cache.refresh(wanted)
        logger.warning(
            "channel %s changed (version %s -> %s): %s",
            name,
            stored.version,
            wanted.version,
            "; ".join(
                f"{field} {getattr(stored, field)} -> {getattr(wanted, field)}"
                for field in ("kind", "retention", "overflow", "max_hops")
                if getattr(stored, field) != getattr(wanted, field)
            )
            or "retention now set for the channel",
        )
        return self.channel_info(name)

    def channel_info(self, name: str) -> ChannelInfo:
        """See :meth:`bus.Bus.get_channel` (the spec read afresh: it may have changed)."""
        store = self._store()
        if isinstance(name, str):
            self.cache.drop(name)
        spec = self.spec(name)
        stream = Stream.of_channel(name).id
        return ChannelInfo(
            spec=spec,
            members=frozenset(store.registry.members(name)),
            last_seq=store.log.head(stream),
            retained=store.log.retained(stream),
        )

    def list_channels(self) -> list[ChannelInfo]:
        """Every channel, sorted by name."""
        return [self.channel_info(spec.name) for spec in self._store().registry.list_channels()]

    # -- agents --------------------------------------------------------------------------------

    def register_agent(self, agent: str, channels: Iterable[str] = ()) -> None:
        """See :meth:`bus.Bus.register_agent`."""
        check_agent_name(agent)
        wanted = list(channels)
        for name in wanted:
            self.spec(name)
        store = self._store()
        topology = self._broker.topology
        broadcast = [
            spec.name for spec in store.registry.list_channels() if spec.kind == "broadcast"
        ]
        with self._broker.connection() as connection:
            topology.declare_agent(connection, agent)
            for name in broadcast:
                topology.bind(connection, agent, name)
        store.registry.register_agent(agent)
        self.cache.known_agents.add(agent)
        for name in wanted:
            self.subscribe(agent, name)

    def unregister_agent(self, agent: str) -> list[str]:
        """See :meth:`bus.Bus.unregister_agent`: the store forgets the agent first (so no
        publish names it a recipient any more), then its queue is deleted."""
        self.require_agent(agent)
        left = self._store().registry.unregister_agent(agent)
        self.cache.known_agents.discard(agent)
        if left is None:  # removed by someone else meanwhile
            raise UnknownAgent(f"no agent named {agent!r} is registered", agent=agent)
        with self._broker.connection() as connection:
            self._broker.topology.delete_agent(connection, agent)
        logger.info(
            "agent %s unregistered: its queue deleted, it left %s",
            agent,
            ", ".join(left) or "no channel",
        )
        return left

    def agents(self) -> list[str]:
        """Every registered agent, sorted."""
        return self._store().registry.agents()

    def subscriptions(self, agent: str) -> list[str]:
        """See :meth:`bus.Bus.subscriptions`."""
        self.require_agent(agent)
        return self._store().registry.subscriptions(agent)

    def subscribe(self, agent: str, channel: str) -> bool:
        """See :meth:`bus.Bus.subscribe`."""
        return self.bulk.subscribe_many(agent, [channel])[0]

    def unsubscribe(self, agent: str, channel: str) -> bool:
        """See :meth:`bus.Bus.unsubscribe`."""
        self.require_agent(agent)
        if self.spec(channel).kind is ChannelKind.BROADCAST:
            raise InvalidArgument(
                f"{channel!r} is a broadcast channel: every registered agent receives it",
                channel=channel,
                agent=agent,
            )
        left = self._store().registry.unsubscribe(agent, channel)
        with self._broker.connection() as connection:
            self._broker.topology.unbind(connection, agent, channel)
        return left

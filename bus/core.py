"""The bus: one facade over the registry, the publisher, request/reply, inboxes and history.

Publishing appends the message to its stream's log in the store (which assigns the next
sequence number and names the recipients, in one atomic step), then publishes one delivery per
recipient (:mod:`bus.publishing.publisher`). Receiving claims from the log
(:mod:`bus.reading.inbox`), so every agent sees each stream in sequence order, without gaps or
duplicates, whatever the broker reorders or redelivers. See ``docs/architecture.md`` for the layers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Self, Unpack
from uuid import UUID

from celery import Celery

from bus.access.choice import open_guard
from bus.access.guard import Guard
from bus.api import BusOperations, documented
from bus.broker.deliveries import Broker
from bus.channels import ChannelInfo, ChannelKind, Overflow, Retention, Stream
from bus.client import AgentClient
from bus.deadletters.records import post_refusal
from bus.kinds import MessageType
from bus.message import HistoryFilters, Message, MessageFields, build_message
from bus.publishing.publisher import Publisher
from bus.publishing.requests import Requests
from bus.reading.inbox import Inbox
from bus.reading.inboxes import Inboxes, open_inbox
from bus.reading.lineage import Lineage
from bus.reading.reader import Reader
from bus.reading.receipt_drafts import ReceiptDrafts
from bus.reading.status import Statuses
from bus.receipts import DeliveryState, DeliveryStatus
from bus.registry.service import Registry
from bus.servers.lifecycle import StoreLifecycle
from bus.settings import BusSettings
from bus.settings.environment import load_settings
from bus.store import Store
from bus.tracing.tree import Trace


@documented
class Bus(BusOperations):
    """A message bus for agents: named channels, direct messages, history, one order per channel.

    Args:
        settings: What to connect to and how; ``BusSettings()`` (the environment) by default.
        app: The Celery app to publish through; one is made from ``settings`` by default.
        guard: What every message and action passes; open (``BUS_AUTH=off``) by default.

    Raises:
        ConfigurationError: the settings cannot work (unsupported scheme, amqp without a store).

    Use it started: ``with Bus() as bus: ...`` or ``bus.start()`` ... ``bus.stop()``. Its
    operations are declared, with their documentation, in :class:`bus.api.BusOperations`.
    """

    def __init__(
        self,
        settings: BusSettings | None = None,
        *,
        app: Celery | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.settings = settings if settings is not None else load_settings()
        #: What every message and action passes (identities, signatures, permissions, quotas).
        self.guard = guard if guard is not None else open_guard(self.settings)
        #: The store over the bus's life: connected by start, closed by stop.
        self._lifecycle = StoreLifecycle(self.settings)
        #: The store's URL, checked here (a sentinel URL needs its master's name).
        self.store_url = self._lifecycle.url
        #: The Celery app and topology; publishes deliveries.
        self.broker = Broker(self.settings, app)
        self.app, self.topology = self.broker.app, self.broker.topology
        #: Channels, agents and subscriptions.
        store = self._lifecycle.current
        self.registry = Registry(self.settings, self.broker, store, self.guard)
        #: Appends messages and publishes their deliveries.
        self.publisher = Publisher(self.settings, self.registry, self.broker, store, self.guard)
        #: Drafts the pushed receipts of this process's commits and hand-overs (issue 17).
        self.receipt_drafts = ReceiptDrafts(
            self.guard,
            self.registry.default_retention,
            self.settings.coalesce_deliveries,
            self.broker,
            store,
            self.publisher.observers,
        )
        self._requests = Requests(
            self.publisher, store, self.guard, replied=self.receipt_drafts.replied
        )
        #: The inboxes of the agents that receive in this process.
        self.inboxes = Inboxes(self._open_inbox)
        # A message a reader's guard refused becomes a dead letter sent as this process.
        refused = partial(
            post_refusal, self.publisher, self.settings, sender=self.guard.identity, store=store
        )
        #: Pull receive and history (:meth:`receive`; :class:`~bus.AsyncBus` waits between its
        #: non-blocking steps).
        self.reader = Reader(
            self.registry, self.inboxes, store, self.guard, refused, self.receipt_drafts
        )
        self._statuses = Statuses(store, self.guard)
        self.default_retention = self.registry.default_retention

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._lifecycle.started

    @property
    def store(self) -> Store:
        """The store; only while started."""
        return self._lifecycle.current()

    def start(self) -> Self:
        if self._lifecycle.started:
            return self
        self._lifecycle.start(self.broker, (self.registry.store_reset, self.inboxes.store_reset))
        self.inboxes.open()
        self.registry.create_defaults()
        return self

    def stop(self) -> None:
        self.inboxes.close()
        self._lifecycle.stop()
        # Celery's connection and producer pools are kombu's process-wide pools, shared with any
        # other app on the same URL: they are left open for reuse, not closed here.

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def destroy(self) -> None:
        registry = self.store.registry
        agents, channels = registry.agents(), [spec.name for spec in registry.list_channels()]
        self.stop()
        self._lifecycle.destroy(self.broker, agents, channels)
        self.registry.forget()

    # -- channels and agents (see bus.registry) ------------------------------------------------

    def create_channel(
        self,
        name: str,
        *,
        kind: ChannelKind | str = ChannelKind.TOPIC,
        retention: Retention | None = None,
    ) -> ChannelInfo:
        return self.registry.create_channel(name, kind=kind, retention=retention)

    def update_channel(
        self,
        name: str,
        *,
        retention: Retention | None = None,
        kind: ChannelKind | str | None = None,
        overflow: Overflow | str | None = None,
        max_hops: int | None = None,
    ) -> ChannelInfo:
        return self.registry.update_channel(
            name, retention=retention, kind=kind, overflow=overflow, max_hops=max_hops
        )

    def get_channel(self, name: str) -> ChannelInfo:
        return self.registry.channel_info(name)

    def list_channels(self) -> list[ChannelInfo]:
        return self.registry.list_channels()

    def register_agent(
        self, agent: str, *, channels: Iterable[str] = (), receipts: bool | None = None
    ) -> None:
        self.registry.register_agent(agent, channels)
        if receipts is not None:  # the flag the commit step reads (pushed receipts)
            self.store.receipts.consume(agent, receipts)

    def register_agents(self, agents: Mapping[str, Iterable[str]]) -> None:
        self.registry.bulk.register_agents(agents)

    def subscribe_many(self, agent: str, channels: Iterable[str]) -> list[bool]:
        return self.registry.bulk.subscribe_many(agent, channels)

    def unregister_agent(self, agent: str) -> list[str]:
        left = self.registry.unregister_agent(agent)
        self.store.receipts.consume(agent, False)
        return left

    def agents(self) -> list[str]:
        return self.registry.agents()

    def subscriptions(self, agent: str) -> list[str]:
        return self.registry.subscriptions(agent)

    def subscribe(self, agent: str, channel: str) -> bool:
        return self.registry.subscribe(agent, channel)

    def unsubscribe(self, agent: str, channel: str) -> bool:
        return self.registry.unsubscribe(agent, channel)

    # -- messages ------------------------------------------------------------------------------

    def publish(
        self, channel: str, content: str, *, sender: str, **fields: Unpack[MessageFields]
    ) -> Message:
        self.registry.spec(channel)
        key = fields.pop("idempotency_key", None)
        fields.setdefault("type", MessageType.ANNOUNCEMENT)
        message = build_message(channel=channel, sender=sender, content=content, **fields)
        return self.publisher.post(message, idempotency_key=key)

    def send(
        self, recipient: str, content: str, *, sender: str, **fields: Unpack[MessageFields]
    ) -> Message:
        key = fields.pop("idempotency_key", None)
        fields.setdefault("type", MessageType.QUESTION)
        message = build_message(recipient=recipient, sender=sender, content=content, **fields)
        return self.publisher.post(message, idempotency_key=key)

    def request(
        self,
        recipient: str,
        content: str,
        *,
        sender: str,
        timeout: float = 30.0,
        **fields: Unpack[MessageFields],
    ) -> Message:
        return self._requests.request(recipient, content, sender=sender, timeout=timeout, **fields)

    def post(
        self, message: Message, *, max_bytes: int | None = None, idempotent: bool = False
    ) -> Message:
        key = str(message.id) if idempotent else None
        return self.publisher.post(message, max_bytes=max_bytes, idempotency_key=key)

    # -- reading -------------------------------------------------------------------------------

    def receive(
        self, agent: str, *, channel: str | None = None, timeout: float | None = None
    ) -> Message | None:
        return self.reader.receive(agent, channel, timeout)

    @property
    def skipped(self) -> dict[tuple[str, str], int]:
        return dict(self.reader.skipped)

    def _open_inbox(self, agent: str) -> Inbox:
        return open_inbox(self.app, self.topology, self.settings, agent, self.receipt_drafts)

    def history(self, channel: str, **filters: Unpack[HistoryFilters]) -> list[Message]:
        self.registry.spec(channel)
        return self.reader.history(Stream.of_channel(channel), agent=None, **filters)

    def direct_history(self, agent: str, **filters: Unpack[HistoryFilters]) -> list[Message]:
        self.registry.require_agent(agent)
        return self.reader.history(Stream.of_inbox(agent), agent=agent, **filters)

    def trace(self, message_id: UUID | str) -> Trace:
        return Lineage(self.store, self.guard).trace(message_id)

    def agent(self, name: str, *, channels: Iterable[str] = ()) -> AgentClient:
        self.register_agent(name, channels=channels)
        return AgentClient(self, name)

    # -- receipts (see bus.reading.status) -----------------------------------------------------

    def status(self, message_id: str | UUID) -> DeliveryStatus:
        return self._statuses.status(message_id)

    def wait_for(
        self,
        message_id: str | UUID,
        state: DeliveryState | str = "handled",
        *,
        members: Iterable[str] | None = None,
        timeout: float = 30.0,
    ) -> DeliveryStatus:
        return self._statuses.wait_for(message_id, state, members, timeout)

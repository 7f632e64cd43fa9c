"""The bus: channels, agents, publishing and history over Kombu, with state in a store.

Publishing appends the message to its stream's log in the store (which assigns the next
sequence number and names the recipients, in one atomic step), then publishes one delivery per
recipient through the channel's exchange. Receiving claims from the log (see
:mod:`bus.receiving`), so every agent sees each stream in sequence order, without gaps or
duplicates, whatever the broker reorders or redelivers.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any, Self
from uuid import UUID, uuid4

from celery import Celery
from kombu import Connection, Exchange
from pydantic import ValidationError

from bus.agent import AgentClient
from bus.celery import create_app
from bus.channels import ChannelInfo, ChannelKind, ChannelSpec, Retention
from bus.errors import (
    BrokerUnavailable,
    BusNotStarted,
    BusTimeout,
    InvalidArgument,
    InvalidMessage,
    MessageTooLarge,
    NotSubscribed,
    StoreUnavailable,
    UnknownAgent,
    UnknownChannel,
)
from bus.inbox import Inbox
from bus.message import Attachment, Message, MessageType, Metadata, Priority, describe, field_errors
from bus.names import check_agent_name, check_channel_name
from bus.receiving import receive_next
from bus.store import Store, channel_stream, direct_stream, open_store
from bus.topology import Topology
from bus.urls import AMQP, resolve_store_url, scheme_of
from bus.wire import DELIVER_TASK, Delivery
from config.settings import BusSettings

logger = logging.getLogger(__name__)

#: How hard a publish retries a lost broker connection before it gives up.
PUBLISH_RETRY_POLICY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.2}


class Bus:
    """A message bus for agents: named channels, direct messages, history, one order per channel.

    Args:
        settings: What to connect to and how; ``BusSettings()`` (the environment) by default.
        app: The Celery app to publish through; one is made from ``settings`` by default.

    Raises:
        ConfigurationError: the settings cannot work (unsupported scheme, amqp without a store).

    Use it started: ``with Bus() as bus: ...`` or ``bus.start()`` ... ``bus.stop()``.
    """

    def __init__(self, settings: BusSettings | None = None, *, app: Celery | None = None) -> None:
        self.settings = settings if settings is not None else BusSettings()
        self.store_url = resolve_store_url(self.settings.broker_url, self.settings.store_url)
        self.app = app if app is not None else create_app(self.settings)
        self.topology = Topology(
            self.settings.namespace, routes_by_broker=scheme_of(self.settings.broker_url) in AMQP
        )
        #: Retention of channels created without one, and of direct-message inboxes.
        self.default_retention = Retention(
            max_messages=self.settings.retention_max_messages,
            max_age_seconds=self.settings.retention_max_age_seconds,
        )
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._inboxes: dict[str, Inbox] = {}
        self._stopping = threading.Event()
        # Channels never change once created and agents are never removed, so both are cached.
        self._specs: dict[str, ChannelSpec] = {}
        self._known_agents: set[str] = set()
        self._origin = f"bus@{socket.gethostname()}/{os.getpid()}"

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether :meth:`start` has run (and :meth:`stop` has not)."""
        return self._store is not None

    @property
    def store(self) -> Store:
        """The store; only while started."""
        if self._store is None:
            raise BusNotStarted("the bus is not started: call bus.start() or use 'with bus:'")
        return self._store

    def start(self) -> Self:
        """Connect to store and broker, and create the default channels.

        Raises:
            StoreUnavailable: the store does not answer (the URL is in the context).
            BrokerUnavailable: the broker does not answer.
        """
        if self._store is not None:
            return self
        store = open_store(self.store_url, self.settings.namespace)
        try:
            store.ping()
        except Exception as exc:
            store.close()
            raise StoreUnavailable(
                f"cannot reach the store at {self.store_url}: {exc}", url=self.store_url
            ) from exc
        with self._connection() as connection:
            try:
                connection.ensure_connection(max_retries=1)
                self.topology.direct_exchange(connection.default_channel).declare()
            except Exception as exc:
                store.close()
                url = connection.as_uri()
                raise BrokerUnavailable(
                    f"cannot reach the broker at {url}: {exc}", url=url
                ) from exc
        self._store = store
        self._stopping.clear()
        for name in (*self.settings.default_channels, self.settings.dead_letter_channel):
            kind = ChannelKind.BROADCAST if name in self.settings.broadcast_channels else None
            self.create_channel(name, kind=kind or ChannelKind.TOPIC)
        return self

    def stop(self) -> None:
        """Close every consumer and connection. Safe to call twice; a receive still waiting in
        another thread returns ``None`` within a second."""
        self._stopping.set()
        with self._lock:
            inboxes, self._inboxes = list(self._inboxes.values()), {}
        for inbox in inboxes:
            with inbox.lock:
                inbox.close()
        if self._store is not None:
            self._store.close()
            self._store = None
        # Celery's connection and producer pools are kombu's process-wide pools, shared with any
        # other app on the same URL: they are left open for reuse, not closed here.

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def destroy(self) -> None:
        """Delete everything of this bus's namespace: channels, agents, queues, history.

        Meant for tests and for tearing down a demo; the bus is stopped afterwards, and
        :meth:`start` makes it anew with the default channels.
        """
        agents, channels = self.store.agents(), [spec.name for spec in self.store.list_channels()]
        self.stop()
        with self._connection() as connection:
            self.topology.destroy(connection, agents, channels)
        store = open_store(self.store_url, self.settings.namespace)
        store.destroy()
        store.close()
        self._specs.clear()
        self._known_agents.clear()

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        with self.app.connection_for_write() as connection:
            yield connection

    # -- channels ------------------------------------------------------------------------------

    def create_channel(
        self,
        name: str,
        *,
        kind: ChannelKind | str = ChannelKind.TOPIC,
        retention: Retention | None = None,
    ) -> ChannelInfo:
        """Create a channel, or return the existing one if it has the same kind and retention.

        Raises:
            InvalidName: the name cannot be a channel name.
            ChannelExists: it exists with another kind or retention.
        """
        check_channel_name(name)
        try:
            spec = ChannelSpec(
                name=name, kind=ChannelKind(kind), retention=retention or self.default_retention
            )
        except ValueError as exc:
            raise InvalidArgument(f"invalid channel kind {kind!r}: {exc}", channel=name) from None
        store = self.store
        with self._connection() as connection:
            self.topology.declare_channel(connection, name)
            created = store.create_channel(spec)
            if created and spec.kind is ChannelKind.BROADCAST:
                for agent in store.agents():
                    self.topology.bind(connection, agent, name)
        self._specs[name] = spec
        return self.get_channel(name)

    def get_channel(self, name: str) -> ChannelInfo:
        """The channel's spec, members, last sequence number and retained count.

        Raises:
            UnknownChannel: there is no such channel.
        """
        spec = self._spec(name)
        stream = channel_stream(name)
        return ChannelInfo(
            spec=spec,
            members=frozenset(self.store.members(name)),
            last_seq=self.store.head(stream),
            retained=self.store.retained(stream),
        )

    def list_channels(self) -> list[ChannelInfo]:
        """Every channel, sorted by name."""
        return [self.get_channel(spec.name) for spec in self.store.list_channels()]

    def _spec(self, name: str) -> ChannelSpec:
        spec = self._specs.get(name) if isinstance(name, str) else None
        if spec is None:
            check_channel_name(name)
            spec = self.store.get_channel(name)
            if spec is None:
                raise UnknownChannel(f"no channel named {name!r}", channel=name)
            self._specs[name] = spec
        return spec

    # -- agents --------------------------------------------------------------------------------

    def register_agent(self, agent: str, *, channels: Iterable[str] = ()) -> None:
        """Register an agent (idempotent): its queue, its inbox, every broadcast channel, and
        a subscription to each of ``channels``.

        Raises:
            InvalidName: a name is invalid. UnknownChannel: a channel does not exist.
            Both are checked before anything changes.
        """
        check_agent_name(agent)
        wanted = list(channels)
        for name in wanted:
            self._spec(name)
        broadcast = [spec.name for spec in self.store.list_channels() if spec.kind == "broadcast"]
        with self._connection() as connection:
            self.topology.declare_agent(connection, agent)
            for name in broadcast:
                self.topology.bind(connection, agent, name)
        self.store.register_agent(agent)
        self._known_agents.add(agent)
        for name in wanted:
            self.subscribe(agent, name)

    def agents(self) -> list[str]:
        """Every registered agent, sorted."""
        return self.store.agents()

    def subscriptions(self, agent: str) -> list[str]:
        """The channels ``agent`` receives, sorted (broadcast channels included)."""
        self._require_agent(agent)
        return self.store.subscriptions(agent)

    def _require_agent(self, agent: str) -> None:
        if isinstance(agent, str) and agent in self._known_agents:
            return
        check_agent_name(agent)
        if not self.store.is_agent(agent):
            raise UnknownAgent(f"no agent named {agent!r} is registered", agent=agent)
        self._known_agents.add(agent)

    def subscribe(self, agent: str, channel: str) -> bool:
        """Make ``agent`` a member of ``channel``, receiving what is published from now on.

        Returns:
            ``False`` if it was a member already.

        Raises:
            UnknownAgent, UnknownChannel, InvalidName.
        """
        self._require_agent(agent)
        self._spec(channel)
        with self._connection() as connection:
            self.topology.bind(connection, agent, channel)
        return self.store.subscribe(agent, channel)

    def unsubscribe(self, agent: str, channel: str) -> bool:
        """Stop delivering ``channel`` to ``agent``; what is still queued for it is dropped.

        Returns:
            ``False`` if it was not a member.

        Raises:
            UnknownAgent, UnknownChannel, InvalidName; InvalidArgument for a broadcast channel,
            which every agent receives.
        """
        self._require_agent(agent)
        if self._spec(channel).kind is ChannelKind.BROADCAST:
            raise InvalidArgument(
                f"{channel!r} is a broadcast channel: every registered agent receives it",
                channel=channel,
                agent=agent,
            )
        left = self.store.unsubscribe(agent, channel)
        with self._connection() as connection:
            self.topology.unbind(connection, agent, channel)
        return left

    # -- publishing ----------------------------------------------------------------------------

    def publish(
        self,
        channel: str,
        content: str,
        *,
        sender: str,
        type: MessageType | str = MessageType.ANNOUNCEMENT,
        priority: Priority | str = Priority.NORMAL,
        attachments: Iterable[Attachment | dict[str, Any]] = (),
        metadata: Metadata | dict[str, Any] | None = None,
        correlation_id: UUID | str | None = None,
        reply_to: str | None = None,
    ) -> Message:
        """Publish to a channel; returns the message with its sequence number.

        Raises:
            UnknownChannel: no such channel. InvalidMessage: a field is invalid (each is named in
            ``context['errors']``). MessageTooLarge: over ``max_message_bytes``.
            Nothing is stored or sent when any of these is raised.
        """
        self._spec(channel)
        return self.post(
            self._build(
                channel=channel,
                sender=sender,
                content=content,
                type=type,
                priority=priority,
                attachments=tuple(attachments),
                metadata=metadata if metadata is not None else Metadata(),
                correlation_id=correlation_id,
                reply_to=reply_to,
            )
        )

    def send(
        self,
        recipient: str,
        content: str,
        *,
        sender: str,
        type: MessageType | str = MessageType.QUESTION,
        priority: Priority | str = Priority.NORMAL,
        attachments: Iterable[Attachment | dict[str, Any]] = (),
        metadata: Metadata | dict[str, Any] | None = None,
        correlation_id: UUID | str | None = None,
        reply_to: str | None = None,
    ) -> Message:
        """Send a direct message to a registered agent; returns it with its inbox sequence number.

        Raises:
            UnknownAgent: the recipient is not registered (and is not waiting for this as the
            reply to its request). InvalidMessage, MessageTooLarge.
        """
        return self.post(
            self._build(
                recipient=recipient,
                sender=sender,
                content=content,
                type=type,
                priority=priority,
                attachments=tuple(attachments),
                metadata=metadata if metadata is not None else Metadata(),
                correlation_id=correlation_id,
                reply_to=reply_to,
            )
        )

    def request(
        self,
        recipient: str,
        content: str,
        *,
        sender: str,
        timeout: float = 30.0,
        **fields: Any,
    ) -> Message:
        """Send a direct message and wait for the recipient's reply.

        The reply is any direct message from ``recipient`` with the request's correlation id
        (:meth:`bus.agent.AgentClient.reply` and a handler's ``ctx.reply`` set it). It works
        from inside a worker's handler too: the wait is on the store, not on a Celery result.

        Raises:
            BusTimeout: no reply within ``timeout`` seconds; names the agent and the request.
            UnknownAgent, InvalidMessage, MessageTooLarge: as :meth:`send`.
        """
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise InvalidArgument(f"timeout must be a number > 0, not {timeout!r}")
        correlation_id = str(uuid4())
        self.store.open_reply(correlation_id, recipient, int((timeout + 60) * 1000))
        try:
            sent = self.send(
                recipient,
                content,
                sender=sender,
                correlation_id=correlation_id,
                reply_to=sender,
                **fields,
            )
            body = self.store.wait_reply(correlation_id, timeout)
        finally:
            self.store.close_reply(correlation_id)
        if body is None:
            raise BusTimeout(
                f"agent {recipient!r} did not reply within {timeout} s to request {sent.id} "
                f"({content[:60]!r})",
                agent=recipient,
                request_id=str(sent.id),
                correlation_id=correlation_id,
                timeout=timeout,
            )
        return Message.from_json(body)

    def post(self, message: Message, *, max_bytes: int | None = None) -> Message:
        """Publish a message built elsewhere (e.g. decoded with :meth:`Message.from_json`) to its
        channel or recipient. Its ``seq`` is ignored: the bus assigns the next one. A direct
        message answering a pending :meth:`request` (same correlation id, sent by the agent
        asked) goes to the waiting caller instead of the recipient's inbox. ``max_bytes``
        overrides ``max_message_bytes`` (dead letters carry a whole message plus the error).

        Raises:
            UnknownChannel, UnknownAgent, MessageTooLarge.
        """
        body = message.model_dump_json(exclude={"seq"})
        size = len(body.encode())
        limit = max_bytes if max_bytes is not None else self.settings.max_message_bytes
        if size > limit:
            raise MessageTooLarge(
                f"message is {size} bytes, the limit is {limit}",
                size=size,
                limit=limit,
                channel=message.channel,
                agent=message.recipient,
            )
        if message.channel is not None:
            retention = self._spec(message.channel).retention
            stream, exchange = (
                channel_stream(message.channel),
                self.topology.channel_exchange(message.channel),
            )
        else:
            assert message.recipient is not None  # a Message has one or the other
            if message.correlation_id is not None and self.store.put_reply(
                str(message.correlation_id), message.sender, message.model_dump_json()
            ):
                return message  # a reply someone is waiting for goes straight to them
            self._require_agent(message.recipient)
            retention = self.default_retention
            stream, exchange = direct_stream(message.recipient), self.topology.direct_exchange
        now_ms = int(message.timestamp.timestamp() * 1000)
        seq, recipients = self.store.append(stream, body, now_ms, retention)
        message_id = str(message.id)
        self._publish_deliveries(
            exchange,
            [Delivery(agent, message.channel, seq, message_id) for agent in sorted(recipients)],
        )
        return message.model_copy(update={"seq": seq})

    def _build(self, **fields: Any) -> Message:
        try:
            return Message(**fields)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise InvalidMessage(
                f"invalid message: {describe(errors)}",
                errors=errors,
                channel=fields.get("channel"),
                agent=fields.get("recipient"),
            ) from None

    def _publish_deliveries(
        self, exchange: Exchange, deliveries: list[Delivery], task: str = DELIVER_TASK
    ) -> None:
        if not deliveries:
            return
        try:
            with self.app.producer_or_acquire() as producer:
                batch = getattr(producer, "batch", None)
                with batch() if batch is not None else nullcontext():
                    for delivery in deliveries:
                        headers, properties, body = delivery.task_message(
                            self.app, self._origin, task
                        )
                        target, routing_key = self.topology.route(exchange, delivery.agent)
                        producer.publish(
                            body,
                            exchange=target,
                            routing_key=routing_key,
                            headers=headers,
                            serializer="json",
                            delivery_mode=2,
                            declare=[exchange] if target else None,
                            retry=True,
                            retry_policy=PUBLISH_RETRY_POLICY,
                            **properties,
                        )
        except Exception as exc:
            first = deliveries[0]
            raise BrokerUnavailable(
                f"message {first.seq} of {first.stream!r} is stored, but its deliveries could not "
                f"be published ({exc}); agents will claim it from the store when they next receive",
                seq=first.seq,
                channel=first.channel,
            ) from exc

    # -- reading -------------------------------------------------------------------------------

    def receive(
        self, agent: str, *, channel: str | None = None, timeout: float | None = None
    ) -> Message | None:
        """The agent's next message, from any of its channels and direct messages, or from
        ``channel`` only. Each stream's messages come in sequence order, each once.

        Args:
            timeout: Seconds to wait; ``None`` waits until a message comes, ``0`` does not wait.

        Returns:
            The message, or ``None`` when the timeout passed.

        Raises:
            UnknownAgent; NotSubscribed: ``channel`` is given and the agent is not a member.
        """
        store = self.store  # raises BusNotStarted before any connection is opened
        self._require_agent(agent)
        if timeout is not None and (
            not isinstance(timeout, int | float) or isinstance(timeout, bool) or not timeout >= 0
        ):
            raise InvalidArgument(
                f"timeout must be a number >= 0 or None, not {timeout!r}",
                field="timeout",
                agent=agent,
            )
        stream = None
        if channel is not None:
            self._spec(channel)
            stream = channel_stream(channel)
            if store.position(agent, stream) is None:
                raise NotSubscribed(
                    f"agent {agent!r} is not a member of {channel!r}", agent=agent, channel=channel
                )
        inbox = self._inbox(agent)
        with inbox.lock:
            body = receive_next(store, inbox, agent, stream, timeout, self._stopping)
        return None if body is None else Message.from_json(body)

    def _inbox(self, agent: str) -> Inbox:
        with self._lock:
            inbox = self._inboxes.get(agent)
            if inbox is None:
                inbox = Inbox(
                    self.app.connection_for_read(),
                    self.topology.agent_queue(agent),
                    self.settings.prefetch_count,
                )
                self._inboxes[agent] = inbox
            return inbox

    def history(
        self,
        channel: str,
        *,
        limit: int | None = None,
        after: int | None = None,
        since: datetime | None = None,
    ) -> list[Message]:
        """A channel's retained messages, oldest first.

        Args:
            limit: Only the newest ``limit`` of them.
            after: Only those with a sequence number greater than this.
            since: Only those published at or after this (timezone-aware) time.

        Raises:
            UnknownChannel; InvalidArgument for a negative number or a naive datetime.
        """
        retention = self._spec(channel).retention
        return self._read(channel_stream(channel), retention, limit, after, since)

    def direct_history(
        self,
        agent: str,
        *,
        limit: int | None = None,
        after: int | None = None,
        since: datetime | None = None,
    ) -> list[Message]:
        """The direct messages ``agent`` was sent that are still retained, oldest first; the
        filters are those of :meth:`history` (sequence numbers are the inbox's).

        Raises:
            UnknownAgent; InvalidArgument.
        """
        self._require_agent(agent)
        return self._read(direct_stream(agent), self.default_retention, limit, after, since)

    def _read(
        self,
        stream: str,
        retention: Retention,
        limit: int | None,
        after: int | None,
        since: datetime | None,
    ) -> list[Message]:
        for label, value in (("limit", limit), ("after", after)):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise InvalidArgument(
                    f"{label} must be an integer >= 0, not {value!r}", field=label, stream=stream
                )
        since_ms = None
        if since is not None:
            if not isinstance(since, datetime) or since.tzinfo is None:
                raise InvalidArgument(
                    f"since must be a timezone-aware datetime, not {since!r}",
                    field="since",
                    stream=stream,
                )
            since_ms = int(since.timestamp() * 1000)
        if retention.max_age_seconds is not None:
            cutoff = int((datetime.now().timestamp() - retention.max_age_seconds) * 1000)
            since_ms = cutoff if since_ms is None else max(since_ms, cutoff)
        entries = self.store.history(stream, newest=limit, after=after, since_ms=since_ms)
        return [Message.from_json(entry.json) for entry in entries]

    # -- agents' view --------------------------------------------------------------------------

    def agent(self, name: str, *, channels: Iterable[str] = ()) -> AgentClient:
        """Register ``name`` (idempotent) subscribed to ``channels``, and return its client,
        which publishes, sends and receives as that agent.

        Raises:
            InvalidName: a name is invalid. UnknownChannel: a channel does not exist.
        """
        self.register_agent(name, channels=channels)
        return AgentClient(self, name)

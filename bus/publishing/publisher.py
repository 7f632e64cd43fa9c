"""Publishing: a message is appended to its stream's log, then one delivery per recipient.

The store's append assigns the stream's next sequence number and names the recipients in one
atomic step; the deliveries are published after it through
:meth:`bus.broker.deliveries.Broker.publish`. A direct message answering a pending request goes to
the waiting caller instead (see :mod:`bus.publishing.requests`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress

from pydantic_core import PydanticSerializationError

from bus import tracing
from bus.access.guard import Guard
from bus.broker.deliveries import Broker
from bus.broker.wire import Delivery, MemberDeliveries
from bus.channels import Retention, Stream
from bus.errors import (
    BrokerUnavailable,
    BusError,
    ChannelChanged,
    CircuitOpen,
    InvalidMessage,
    MessageTooLarge,
    UnknownChannel,
)
from bus.message import Message
from bus.publishing.limits import checks_for, circuit_event, said
from bus.registry.service import Registry
from bus.settings import BusSettings
from bus.store import Appended, Dedupe, Store

logger = logging.getLogger(__name__)


class Publisher:
    """Stores messages and publishes their deliveries.

    Args:
        settings: The bus's settings (``max_message_bytes``).
        registry: Channel specs and agents, to validate destinations.
        broker: Where deliveries are published.
        store: Returns the started bus's store.
        guard: What each outgoing message must pass (stamped, signed, rate-limited).
    """

    def __init__(
        self,
        settings: BusSettings,
        registry: Registry,
        broker: Broker,
        store: Callable[[], Store],
        guard: Guard,
    ) -> None:
        self._settings = settings
        self._guard = guard
        self._registry = registry
        self._broker = broker
        self._store = store
        #: Called as ``observer(message, recipients)`` after each message is stored and its
        #: deliveries published (a worker starts the runs of the recipients it hosts).
        self.observers: list[Callable[[Message, list[str]], None]] = []

    def post(
        self,
        message: Message,
        *,
        max_bytes: int | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """See :meth:`bus.Bus.post`. With tracing on, in a ``publish`` span whose context the
        message carries (set before the guard signs it)."""
        if not tracing.active():
            return self._post(message, max_bytes, idempotency_key)
        with tracing.publishing(message) as (span, traced):
            posted = self._post(traced, max_bytes, idempotency_key)
            if posted.seq is not None:
                span.set_attribute("messaging.bus.seq", posted.seq)
            return posted

    def _post(
        self, message: Message, max_bytes: int | None, idempotency_key: str | None
    ) -> Message:
        store = self._store()
        if message.channel is not None:
            retention = self._registry.spec(message.channel).retention
            stream = Stream.of_channel(message.channel)
        else:
            assert message.recipient is not None  # a Message has one or the other
            retention = self._registry.default_retention
            stream = Stream.of_inbox(message.recipient)
        message = self._guard.outgoing(message)
        try:
            body = message.model_dump_json(exclude={"seq"})
        except PydanticSerializationError as exc:  # a lone surrogate: no UTF-8 for it
            raise InvalidMessage(
                f"the message cannot be encoded as JSON (UTF-8): {exc}",
                errors=[{"field": "(message)", "reason": "a text has a lone surrogate: no UTF-8"}],
                channel=message.channel,
                agent=message.recipient,
            ) from None
        size = len(body.encode())
        limit = max_bytes if max_bytes is not None else self._settings.max_message_bytes
        if size > limit:
            raise MessageTooLarge(
                f"message is {size} bytes, the limit is {limit}",
                size=size,
                limit=limit,
                channel=message.channel,
                agent=message.recipient,
            )
        if message.recipient is not None:
            if message.correlation_id is not None and self._replied(store, message):
                return message  # a reply someone is waiting for goes straight to them
            self._registry.require_agent(message.recipient)
        now_ms = int(message.timestamp.timestamp() * 1000)
        dedupe = None
        if idempotency_key is not None:
            dedupe = Dedupe(str(idempotency_key), int(self._settings.dedupe_window_seconds * 1000))
        appended = self._stored(
            message, lambda: self._append(store, message, stream, body, now_ms, retention, dedupe)
        )
        posted = message.model_copy(update={"seq": appended.seq})
        if appended.duplicate:
            logger.info(
                "%s: idempotency key %r was used for seq %s already: not stored again",
                stream.id,
                idempotency_key,
                appended.seq,
            )
            return posted
        ordered = sorted(appended.recipients)
        self._deliver(store, posted, stream, appended)
        for observer in self.observers:
            observer(posted, ordered)
        return posted

    @property
    def settings(self) -> BusSettings:
        """The bus's settings."""
        return self._settings

    def _replied(self, store: Store, message: Message) -> bool:
        """Put ``message`` in the box of the request it answers, if one waits for it, the
        guards deciding as for any direct message (a refusal reaches the waiter too)."""
        checks = checks_for(self._settings, message, None)
        try:
            replied = store.replies.put_reply(
                str(message.correlation_id),
                message.sender,
                message.model_dump_json(),
                checks,
                # kept for bus trace under the message whose handler replied
                kept=None
                if message.causation_id is None
                else (str(message.id), str(message.causation_id)),
            )
        except CircuitOpen as exc:
            if exc.opened:
                self._circuit(message, "opened")
            raise
        if replied.closed:
            self._circuit(message, "closed")
        return replied.put

    def _deliver(self, store: Store, posted: Message, stream: Stream, appended: Appended) -> None:
        """Publish the deliveries of a stored message to the recipients to wake."""
        assert posted.seq is not None
        message = Delivery(
            "",
            posted.channel,
            posted.seq,
            str(posted.id),
            sender=posted.sender,
            type=str(posted.type),
        )
        deliveries = MemberDeliveries(message, sorted(appended.to_wake))
        try:
            self._broker.publish(deliveries)
        except BrokerUnavailable as exc:
            # The message is stored: from the caller's view it is published. Its recipients
            # claim it from the log (pull receive) or a worker's sweep re-sends its delivery.
            logger.warning("%s (delivered by catch-up)", exc)
            if appended.woken:  # no delivery wakes them: the next message must
                with suppress(BusError):
                    store.log.unsignal(stream.id, appended.woken)

    def _stored(self, message: Message, append: Callable[[], Appended]) -> Appended:
        """``append()``; say what the guards did (a circuit opened or closed, members noted
        overloaded)."""
        try:
            appended = append()
        except CircuitOpen as exc:
            if exc.opened:
                self._circuit(message, "opened")
            raise
        if appended.closed:
            self._circuit(message, "closed")
        said(message, appended)
        return appended

    def _circuit(self, message: Message, state: str) -> None:
        """Log, and publish when the settings name a channel for it, a circuit's change."""
        event = circuit_event(self._settings, message, state, self._guard.identity)
        if event is None:
            return
        try:
            self.post(event)
        except BusError as exc:  # the event is a notice: never in the way of the refusal
            logger.warning("the circuit event could not be published: %s", exc)

    def _append(
        self,
        store: Store,
        message: Message,
        stream: Stream,
        body: str,
        now_ms: int,
        retention: Retention,
        dedupe: Dedupe | None,
    ) -> Appended:
        """Append, re-reading the channel's spec if it changed since this process cached it."""
        coalesce = self._settings.coalesce_deliveries
        causation = None if message.causation_id is None else str(message.causation_id)
        # The append indexes the message's id (causation, receipts) in the same step, and
        # decides the guards (bus.publishing.limits) there too.
        message_id, sender = str(message.id), message.sender
        if message.channel is None:
            return store.log.append(
                stream.id,
                body,
                now_ms,
                retention,
                dedupe=dedupe,
                coalesce=coalesce,
                message_id=message_id,
                sender=sender,
                causation_id=causation,
                checks=checks_for(self._settings, message, None),
            )
        spec = self._registry.spec(message.channel)
        for _ in range(3):
            try:
                return store.log.append(
                    stream.id,
                    body,
                    now_ms,
                    spec.retention,
                    channel=spec,
                    dedupe=dedupe,
                    coalesce=coalesce,
                    message_id=message_id,
                    sender=sender,
                    causation_id=causation,
                    checks=checks_for(self._settings, message, spec),
                )
            except ChannelChanged as exc:
                spec = self._registry.refresh(exc.spec)
            except UnknownChannel:
                self._registry.drop(message.channel)
                raise
        raise ChannelChanged(
            f"channel {message.channel!r} kept changing while publishing; try again",
            channel=message.channel,
        )

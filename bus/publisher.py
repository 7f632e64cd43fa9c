"""Publishing: a message is appended to its stream's log, then one delivery per recipient.

The store's append assigns the stream's next sequence number and names the recipients in one
atomic step; the deliveries are published after it through :meth:`bus.broker.Broker.publish`.
A direct message answering a pending request goes to the waiting caller instead (see
:mod:`bus.requests`).
"""

from __future__ import annotations

from collections.abc import Callable

from bus.broker import Broker
from bus.errors import MessageTooLarge
from bus.guard import Guard
from bus.message import Message
from bus.registry import Registry
from bus.store import Store
from bus.streams import Stream
from bus.wire import Delivery
from config.settings import BusSettings


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

    def post(self, message: Message, *, max_bytes: int | None = None) -> Message:
        """See :meth:`bus.Bus.post`."""
        store = self._store()
        if message.channel is not None:
            retention = self._registry.spec(message.channel).retention
            stream = Stream.of_channel(message.channel)
        else:
            assert message.recipient is not None  # a Message has one or the other
            retention = self._registry.default_retention
            stream = Stream.of_inbox(message.recipient)
        message = self._guard.outgoing(message)
        body = message.model_dump_json(exclude={"seq"})
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
            if message.correlation_id is not None and store.put_reply(
                str(message.correlation_id), message.sender, message.model_dump_json()
            ):
                return message  # a reply someone is waiting for goes straight to them
            self._registry.require_agent(message.recipient)
        now_ms = int(message.timestamp.timestamp() * 1000)
        seq, recipients = store.append(stream.id, body, now_ms, retention)
        message_id = str(message.id)
        ordered = sorted(recipients)
        deliveries = [Delivery(agent, message.channel, seq, message_id) for agent in ordered]
        self._broker.publish(deliveries)
        posted = message.model_copy(update={"seq": seq})
        for observer in self.observers:
            observer(posted, ordered)
        return posted

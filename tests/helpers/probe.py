"""Looking at a bus from the side, for the tests: broker queue depths, hand-made deliveries,
and a snapshot of everything a bad call must leave unchanged."""

from __future__ import annotations

from typing import Any

from bus import Bus, Message
from bus.broker.wire import Delivery
from bus.store import channel_stream, direct_stream


def queue_depth(bus: Bus, agent: str) -> int:
    """How many deliveries wait in ``agent``'s broker queue (not counting unacknowledged).

    The queue is declared as the bus declares it (a passive declare fails on Redis, where an
    empty queue is no key at all)."""
    with bus.app.connection_for_read() as connection:
        queue = bus.topology.agent_queue(agent)(connection.default_channel)
        _name, count, _consumers = queue.queue_declare()
        return int(count)


def inject(bus: Bus, delivery: Delivery) -> None:
    """Publish ``delivery`` the way the bus would, without touching the store: a duplicate, or
    one out of order, as a broker that redelivers or reorders would hand it over."""
    if delivery.channel is None:
        exchange = bus.topology.direct_exchange
    else:
        exchange = bus.topology.channel_exchange(delivery.channel)
    headers, properties, body = delivery.task_message(bus.app, "tests")
    with bus.app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange=exchange,
            routing_key=delivery.agent,
            headers=headers,
            serializer="json",
            delivery_mode=2,
            declare=[exchange],
            **properties,
        )


def delivery_of(message: Message, agent: str) -> Delivery:
    """The delivery of a published ``message`` to ``agent``."""
    assert message.seq is not None
    return Delivery(agent, message.channel, message.seq, str(message.id))


def receive_all(
    bus: Bus, agent: str, *, channel: str | None = None, wait: float = 0.5, limit: int = 10_000
) -> list[Message]:
    """Receive until nothing more comes within ``wait`` seconds."""
    got: list[Message] = []
    while len(got) < limit:
        message = bus.receive(agent, channel=channel, timeout=wait)
        if message is None:
            break
        got.append(message)
    return got


def snapshot(bus: Bus, *, queues: bool = True) -> dict[str, Any]:
    """Everything a refused call must leave as it was: channels with their members, heads and
    retained counts, each channel's history, the agents with their subscriptions, inbox heads and
    positions, and (unless ``queues`` is false) the depth of every agent's broker queue."""
    store = bus.store
    depths: dict[str, int | None] = dict.fromkeys(bus.agents())
    if queues:
        with bus.app.connection_for_read() as connection:
            for agent in depths:
                queue = bus.topology.agent_queue(agent)(connection.default_channel)
                depths[agent] = int(queue.queue_declare()[1])
    channels = {
        info.name: (
            info.spec,
            info.members,
            info.last_seq,
            info.retained,
            [message.id for message in bus.history(info.name)],
        )
        for info in bus.list_channels()
    }
    agents = {}
    for agent in bus.agents():
        streams = [channel_stream(name) for name in bus.subscriptions(agent)]
        streams.append(direct_stream(agent))
        agents[agent] = (
            bus.subscriptions(agent),
            store.log.head(direct_stream(agent)),
            {stream: store.log.position(agent, stream) for stream in streams},
            depths[agent],
        )
    return {"channels": channels, "agents": agents}

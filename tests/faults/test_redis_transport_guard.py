"""The guard of bus.transport: a consumer channel closed after its connection let go of the
transport (what kombu does on a connection error) no longer raises kombu's
``AttributeError: 'NoneType' object has no attribute 'hostname'`` (issue 10), and the unacked
delivery is not lost: Redis hands it out again after the visibility timeout."""

from __future__ import annotations

import contextlib
import time

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

from bus.broker.redis_transport import TRANSPORT
from tests.brokers import REDIS_URL, new_namespace, require

pytestmark = pytest.mark.redis


def _consume_one_unacked(transport: str | None, queue: Queue) -> tuple[Connection, Consumer]:
    connection = Connection(
        REDIS_URL, transport=transport, transport_options={"visibility_timeout": 1}
    )
    channel = connection.channel()
    Producer(channel).publish(
        {"n": 1},
        exchange=queue.exchange,
        routing_key=queue.routing_key,
        declare=[queue],
        serializer="json",
    )
    received = []
    consumer = Consumer(channel, queues=[queue], callbacks=[lambda b, m: received.append(m)])
    consumer.consume()
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            connection.drain_events(timeout=0.5)
    assert received, "the message did not arrive"
    return connection, consumer


def test_closing_a_channel_after_its_transport_was_detached_loses_nothing() -> None:
    require("redis")
    name = new_namespace()
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    # kombu's own transport: the failure issue 10 saw, reproduced.
    connection, consumer = _consume_one_unacked(None, queue)
    connection.transport.client = None  # what Connection._close/collect does
    with pytest.raises(AttributeError, match="hostname"):
        consumer.channel.close()
    # bus's transport: the same sequence is a warning, and the delivery comes back.
    connection, consumer = _consume_one_unacked(TRANSPORT, queue)
    transport = connection.transport
    transport.client = None
    consumer.channel.close()
    transport.client = connection
    time.sleep(1.5)  # past the visibility timeout
    again = Connection(REDIS_URL, transport=TRANSPORT, transport_options={"visibility_timeout": 1})
    try:
        channel = again.channel()
        channel.qos.restore_visible()
        bound = Queue(name, queue.exchange, routing_key=name)(channel)
        back = []
        while (message := bound.get(no_ack=True)) is not None:
            back.append(message.payload)
        # Both runs' unacked deliveries (kombu's and bus's) are back: nothing was lost.
        assert back == [{"n": 1}, {"n": 1}]
    finally:
        Queue(name, queue.exchange, routing_key=name)(again.channel()).delete()
        again.release()

"""memory:// without polling (issue 22, item 2): a put wakes the consumers of its queue."""

from __future__ import annotations

import threading
from uuid import uuid4

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.message import Message

from bus.broker.celery_app import create_app
from bus.broker.memory_transport import TRANSPORT, WAKEUPS, WokenTransport
from bus.settings import BusSettings


def test_the_celery_app_of_a_memory_bus_uses_the_woken_transport() -> None:
    app = create_app(BusSettings(broker_url="memory://"))
    with app.connection_for_read() as connection:
        assert isinstance(connection.transport, WokenTransport)
    assert app.conf.broker_transport == TRANSPORT


def test_a_put_calls_the_waiters_of_its_queue_and_of_no_other() -> None:
    name, other = f"woken-{uuid4().hex}", f"other-{uuid4().hex}"
    exchange = Exchange(f"x-{name}", type="direct")
    calls: list[str] = []
    unwatch = WAKEUPS.watch([name], lambda: calls.append(name))
    unwatch_other = WAKEUPS.watch([other], lambda: calls.append(other))
    try:
        with Connection("memory://localhost/", transport=WokenTransport) as connection:
            queue = Queue(name, exchange, routing_key=name)
            queue(connection.default_channel).declare()
            Producer(connection.default_channel).publish(
                {"n": 1}, exchange=exchange, routing_key=name, serializer="json"
            )
        assert calls == [name]
    finally:
        unwatch()
        unwatch_other()
    assert calls == [name]


def test_a_consumer_waiting_in_drain_events_is_woken_by_a_put_from_another_thread() -> None:
    """drain_events(timeout=None) returns with the message: no poll is left to find it (the
    transport's interval is set to a minute, so only the put's wake-up can end the wait)."""
    name = f"woken-{uuid4().hex}"
    exchange = Exchange(f"x-{name}", type="direct")
    got: list[object] = []
    options = {"polling_interval": 60}
    with (
        Connection(
            "memory://localhost/", transport=WokenTransport, transport_options=options
        ) as consumer_connection,
        Connection("memory://localhost/", transport=WokenTransport) as producer_connection,
    ):
        queue = Queue(name, exchange, routing_key=name)

        def on_message(body: object, message: Message) -> None:
            got.append(body)
            message.ack()

        with Consumer(consumer_connection, [queue], callbacks=[on_message]):
            waiting = threading.Thread(target=consumer_connection.drain_events, daemon=True)
            waiting.start()
            Producer(producer_connection.default_channel).publish(
                {"n": 1}, exchange=exchange, routing_key=name, serializer="json"
            )
            waiting.join(30)
            assert not waiting.is_alive()
    assert got == [{"n": 1}]

"""The baselines ``raw_kombu`` (case ``pull``: a topic exchange, two queues, plain Consumers
with acks) and ``raw_kombu_latency`` (case ``latency``: one message at a time, one queue)."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from kombu import Connection, Consumer, Exchange, Queue

from bench.common import (
    Drain,
    Record,
    Run,
    broker_url,
    drain_kombu,
    figure,
    payload,
    percentile,
    transport_options,
)

ROUTING_KEY = "bench.message"


def _connect(transport: str) -> Connection:
    connection = Connection(broker_url(transport), transport_options=transport_options(transport))
    connection.ensure_connection(max_retries=2)
    return connection


class _Receiver:
    """A Consumer on one queue, on a connection of its own, drained by a thread."""

    def __init__(self, transport: str, bound: Queue, on_message: Any = None) -> None:
        self.connection = _connect(transport)
        self.count = [0]
        self._on_message = on_message
        self.consumer = Consumer(
            self.connection.channel(),
            queues=[bound],
            callbacks=[self._handle],
            accept=["json"],
            prefetch_count=64,
        )
        self.consumer.consume()

    def _handle(self, body: Any, message: Any) -> None:
        message.ack()
        self.count[0] += 1
        if self._on_message is not None:
            self._on_message(body)

    def drain(self, expected: int, deadline: float) -> int:
        self.count[0] = 0
        return drain_kombu(self.connection, self.count, expected, deadline)

    def close(self) -> None:
        try:
            self.consumer.cancel()
        finally:
            self.connection.release()


def _entities(run: Run, queues: int) -> tuple[Exchange, list[Queue]]:
    ns = run.ns("rawkombu")
    exchange = Exchange(f"{ns}.topic", type="topic", durable=True)
    bound = [
        Queue(f"{ns}.q{index}", exchange=exchange, routing_key="bench.#", durable=True)
        for index in range(queues)
    ]
    return exchange, bound


def _delete(connection: Connection, exchange: Exchange, bound: list[Queue]) -> None:
    channel = connection.default_channel
    for item in bound:
        item(channel).delete()
    exchange(channel).delete()


def throughput(transport: str, run: Run) -> list[Record]:
    """Publish ``run.n`` messages to two queues; deliveries/s from first publish to last ack."""
    n, body = run.n, payload()
    exchange, bound = _entities(run, 2)
    connection = _connect(transport)
    receivers: list[_Receiver] = []
    try:
        for item in bound:
            item(connection.default_channel).declare()
        producer = connection.Producer(serializer="json")
        receivers = [_Receiver(transport, item) for item in bound]

        def publish(count: int) -> None:
            for _ in range(count):
                producer.publish(body, exchange=exchange, routing_key=ROUTING_KEY, delivery_mode=2)

        for count in (min(20, n), n):  # a warm-up round, then the timed one
            with Drain(
                [(receiver.drain, count) for receiver in receivers], timeout=60 + count / 100
            ) as drain:
                publish(count)
                published = time.perf_counter() - drain.started
            drain.check()
        deliveries = 2 * n
        return [
            figure(
                transport,
                "raw_kombu",
                deliveries / drain.elapsed,
                "deliveries/s",
                n,
                deliveries=deliveries,
                seconds=round(drain.elapsed, 4),
                publish_seconds=round(published, 4),
                queues=2,
            )
        ]
    finally:
        for receiver in receivers:
            receiver.close()
        _delete(connection, exchange, bound)
        connection.release()


def latency(transport: str, run: Run, samples: int) -> list[Record]:
    """Publish one message at a time; seconds from publish to the consumer's callback."""
    exchange, bound = _entities(run, 1)
    connection = _connect(transport)
    arrivals: queue.Queue[float] = queue.Queue()
    stop = threading.Event()
    receiver: _Receiver | None = None
    thread: threading.Thread | None = None
    try:
        bound[0](connection.default_channel).declare()
        producer = connection.Producer(serializer="json")
        receiver = _Receiver(transport, bound[0], lambda _b: arrivals.put(time.perf_counter()))

        def loop(active: _Receiver) -> None:
            while not stop.is_set():
                drain_kombu(active.connection, [0], 1, time.monotonic() + 0.5)

        thread = threading.Thread(target=loop, args=(receiver,), daemon=True)
        thread.start()
        values: list[float] = []
        for index in range(samples + 5):
            start = time.perf_counter()
            producer.publish(payload(), exchange=exchange, routing_key=ROUTING_KEY, delivery_mode=2)
            arrived = arrivals.get(timeout=30)
            if index >= 5:  # the first few warm connections and caches up
                values.append((arrived - start) * 1000)
        return [
            figure(transport, f"raw_kombu_latency_{name}", percentile(values, q), "ms", samples)
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
        ]
    finally:
        stop.set()
        if thread is not None:
            thread.join(5)
        if receiver is not None:
            receiver.close()
        _delete(connection, exchange, bound)
        connection.release()

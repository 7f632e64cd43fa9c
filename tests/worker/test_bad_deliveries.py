"""Bad data never stops a stream: garbage ``bus.deliver`` tasks put straight into an agent's
queue, and a log entry that is JSON but not a message, on every pool, Redis and RabbitMQ.

Each garbage task is refused with a logged reason and acknowledged (never retried); the entry
becomes a dead letter naming why; the worker stays responsive, and the genuine messages
published afterwards are handled, in order, by each agent.
"""

from __future__ import annotations

import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bus import Bus
from bus.broker.wire import DELIVER_TASK, Delivery
from bus.channels import Retention, Stream
from bus.deadletters import list_dead_letters
from bus.settings import BusSettings
from tests.worker.harness import WorkerProcess, runs, wait_for

pytestmark = pytest.mark.slow
AGENTS = ("rec-a", "rec-b")
CHANNEL = "#engineering"

#: ``bus.deliver`` arguments no publisher of bus makes: each must be refused, none retried.
GARBAGE: list[list[Any]] = [
    ["rec-a", CHANNEL, "abc"],
    ["rec-a", CHANNEL, 10**30],
    ["rec-a", CHANNEL, 2**63],
    ["rec-a", CHANNEL, 1e308],
    ["rec-a", CHANNEL, True],
    ["rec-a", CHANNEL, [1]],
    ["rec-a", CHANNEL, 0],
    ["rec-a", 42, 1],
    ["rec-a", [CHANNEL], 1],
    ["rec-a", CHANNEL],
    [],
    [["rec-a"], CHANNEL, 1],
]


def put_garbage(bus: Bus, agent: str, args: list[Any]) -> None:
    """A ``bus.deliver`` task with ``args`` in ``agent``'s queue, as anyone who can write the
    queue could put it there (kombu's producer, the Celery task message format)."""
    app, topology = bus.broker.app, bus.broker.topology
    headers, properties, body, _ = app.amqp.as_task_v2(
        str(uuid.uuid4()), DELIVER_TASK, args=args, kwargs={}, origin="mallory"
    )
    exchange = topology.direct_exchange
    target, routing_key = topology.route(exchange, agent)
    with app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange=target,
            routing_key=routing_key,
            headers=headers,
            serializer="json",
            declare=[exchange] if target else None,
            **properties,
        )


def put_unreadable_entry(bus: Bus) -> int:
    """A log entry of #engineering that is JSON but no message (no ``content``), with a
    delivery to each agent, as a store writer would put it; its seq."""
    stream = Stream.of_channel(CHANNEL).id
    body = '{"sender": "tester", "type": "question"}'
    seq = bus.store.log.append(stream, body, int(time.time() * 1000), Retention()).seq
    bus.broker.publish([Delivery(agent, CHANNEL, seq) for agent in AGENTS])
    return seq


def _handled(settings: BusSettings, agent: str, seqs: list[int | None]) -> bool:
    return _done(settings, agent) == seqs


def _done(settings: BusSettings, agent: str) -> list[int]:
    return [
        int(r[3]) for r in runs(settings) if r[0] == "done" and r[1] == agent and r[2] == CHANNEL
    ]


@pytest.mark.parametrize(("pool", "concurrency"), [("threads", 4), ("prefork", 2), ("solo", 1)])
def test_garbage_deliveries_and_an_unreadable_entry_never_stop_a_stream(
    broker_settings: BusSettings, tmp_path: Path, pool: str, concurrency: int
) -> None:
    log = tmp_path / "worker.log"
    worker = WorkerProcess(broker_settings, pool=pool, concurrency=concurrency, log=log)
    try:
        worker.wait_ready()
        with Bus(broker_settings) as bus:
            wait_for(
                lambda: all(CHANNEL in bus.subscriptions(agent) for agent in AGENTS),
                30,
                "the worker to register its agents",
            )
            for args in GARBAGE:
                put_garbage(bus, "rec-a", args)
            unreadable = put_unreadable_entry(bus)
            genuine = [
                bus.publish(CHANNEL, f"genuine {index}", sender="tester").seq for index in range(3)
            ]
            for agent in AGENTS:
                wait_for(
                    partial(_handled, broker_settings, agent, genuine),
                    30,
                    f"{agent} to handle the genuine messages",
                )
            wait_for(
                lambda: (
                    {(d.agent, d.seq) for d in list_dead_letters(bus)}
                    >= {(agent, unreadable) for agent in AGENTS}
                ),
                30,
                "the unreadable entry's dead letters",
            )
            letters = [d for d in list_dead_letters(bus) if d.seq == unreadable]
            assert all(d.error.startswith("unreadable: ") for d in letters), letters
            assert all("content" in d.error for d in letters), letters
        text = log.read_text(errors="replace")
        assert text.count(f"refused task {DELIVER_TASK}") == len(GARBAGE), text[-3000:]
        assert "Task exception was never retrieved" not in text
        assert "Retry in" not in text  # refused, not retried
    finally:
        worker.stop()

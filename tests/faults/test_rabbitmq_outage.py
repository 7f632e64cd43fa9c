"""RabbitMQ stopped for ~5 s mid-stream (``stop_app``/``start_app``) under a real worker.

A ``celery -A bus worker`` subprocess hosts the recorder agents on a private RabbitMQ node (the
store is the shared Redis, in a namespace of its own); a publisher keeps publishing through the
outage. Publishes during the outage may raise ``BrokerUnavailable``: they count as not
acknowledged (their message may still be stored and handled). Required: every acknowledged
message handled by each agent, in order, once.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from bus import Bus
from tests.brokers import REDIS_URL
from tests.faults.ledger import Ledger, Publisher, records
from tests.faults.workers import FaultWorker, fast_settings
from tests.support.process import wait_until
from tests.support.servers import RabbitNode

pytestmark = [pytest.mark.fault, pytest.mark.slow, pytest.mark.amqp]
AGENTS = ("rec-a", "rec-b")
CHANNEL = "#engineering"


def _hosted(bus: Bus) -> bool:
    agents = set(bus.agents())
    return all(a in agents and CHANNEL in bus.subscriptions(a) for a in AGENTS)


def _done(client: redis.Redis, namespace: str) -> int:
    return sum(1 for row in records(client, namespace) if row[0] == "done")


def test_a_worker_loses_nothing_acknowledged_when_rabbitmq_stops_for_five_seconds(
    rabbit_node: RabbitNode, shared_redis: None, tmp_path: Path
) -> None:
    settings = fast_settings(rabbit_node.url, store_url=REDIS_URL)
    recorder = redis.Redis.from_url(REDIS_URL)
    ledger = Ledger()
    worker = FaultWorker(settings, log=tmp_path / "worker.log")
    publisher = Publisher(settings, ledger, CHANNEL, count=1500, interval=0.005, timeout=90)
    began = time.monotonic()
    try:
        worker.wait_ready()
        with Bus(settings) as bus:
            wait_until(lambda: _hosted(bus), 30, "the worker to register its agents")
        publisher.start()
        wait_until(lambda: len(ledger.acknowledged.get(CHANNEL, ())) >= 300, 60, "300 acks")
        stopped_at = time.monotonic()
        rabbit_node.stop_app()
        time.sleep(5)
        rabbit_node.start_app()
        outage = time.monotonic() - stopped_at
        done_at_restart = _done(recorder, settings.namespace)
        # Under load start_app can return after the publisher ended and the worker caught up:
        # then nothing is left to handle, and the catch-up check below is what counts.
        resumed = wait_until(
            lambda: (
                _done(recorder, settings.namespace) > done_at_restart or not publisher.is_alive()
            ),
            60,
            "a handler to finish after the broker came back",
            interval=0.05,
        )
        publisher.finish(timeout=120)

        def caught_up() -> bool:
            ledger.read_handled(records(recorder, settings.namespace))
            return ledger.all_handled(AGENTS, CHANNEL)

        catch_up = wait_until(caught_up, 120, "every acknowledged message to be handled")
        time.sleep(1)  # late duplicates, if any, would land now
        ledger.read_handled(records(recorder, settings.namespace))
        assert worker.alive, "the worker exited"
    finally:
        publisher.stop_event.set()
        worker.stop()
        if rabbit_node.running:
            rabbit_node.start_app()  # a failure mid-outage must not leave the node down
        Bus(settings).start().destroy()
        recorder.delete(f"{settings.namespace}:test:runs")
        recorder.close()
    report = ledger.report("RabbitMQ stop_app/start_app ~5 s, worker subprocess", AGENTS, CHANNEL)
    print(report)
    print(
        f"outage {outage:.1f} s (stop_app to start_app done); handling resumed {resumed:.1f} s "
        f"after; caught up {catch_up:.1f} s after the publisher ended; "
        f"whole test {time.monotonic() - began:.1f} s"
    )
    assert report.raw_errors == {}
    assert report.lost == 0
    assert report.order_violations == 0
    assert report.duplicated == 0
    assert set(report.refused) <= {"BrokerUnavailable"}

"""RabbitMQ stopped for ~5 s mid-stream under a pull reader whose consumer stays open.

The target of issue 10 ("exactly-once hand-over in receive under faults"): a message taken from
the log is either returned by ``receive`` or still there for the next one, and a broker failure
reaches the reader as a ``BusError`` (``BrokerUnavailable``), never a raw socket error. The
reader keeps calling ``receive`` on the same bus through the outage, as an agent loop would.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from bus import Bus
from bus.errors import BusError
from tests.brokers import REDIS_URL
from tests.faults.ledger import Ledger, Publisher
from tests.faults.workers import fast_settings
from tests.support.process import wait_until
from tests.support.servers import RabbitNode

pytestmark = [pytest.mark.fault, pytest.mark.slow, pytest.mark.amqp]
CHANNEL = "#engineering"


def test_a_pull_reader_loses_nothing_when_rabbitmq_stops_for_five_seconds(
    rabbit_node: RabbitNode, shared_redis: None
) -> None:
    settings = fast_settings(rabbit_node.url, store_url=REDIS_URL)
    ledger = Ledger()
    receive_errors: Counter[str] = Counter()
    publisher = Publisher(settings, ledger, CHANNEL, count=1500, interval=0.005, timeout=60)
    began = time.monotonic()
    with Bus(settings) as bus:
        try:
            bus.register_agent("reader", channels=[CHANNEL])

            def read_for(seconds: float) -> None:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    try:
                        message = bus.receive("reader", timeout=0.2)
                    except BusError as exc:
                        receive_errors[type(exc).__name__] += 1
                        continue
                    except Exception as exc:
                        receive_errors[f"raw {type(exc).__module__}.{type(exc).__name__}"] += 1
                        time.sleep(0.1)
                        continue
                    if message is not None and message.seq is not None:
                        ledger.handle("reader", CHANNEL, message.seq)

            publisher.start()
            wait_until(lambda: len(ledger.acknowledged.get(CHANNEL, ())) >= 200, 60, "200 acks")
            read_for(0.5)  # the consumer is open and reading when the broker goes
            rabbit_node.stop_app()
            read_for(5)
            rabbit_node.start_app()
            publisher.finish(timeout=90)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not ledger.all_handled(["reader"], CHANNEL):
                read_for(1)
        finally:
            publisher.stop_event.set()
            if rabbit_node.running:
                rabbit_node.start_app()  # a failure mid-outage must not leave the node down
            bus.destroy()
    report = ledger.report("RabbitMQ stop_app/start_app ~5 s, pull reader", ["reader"], CHANNEL)
    print(report)
    print(
        f"receive errors: {dict(receive_errors) or 0}; whole test {time.monotonic() - began:.1f} s"
    )
    assert not [name for name in receive_errors if name.startswith("raw ")], receive_errors
    assert report.raw_errors == {}
    assert report.lost == 0
    assert report.duplicated == 0
    assert report.order_violations == 0

"""Restarting with changed settings mid-stream: a worker restarted with another retention, and a
process started with other broadcast and default channels, while a publisher runs. Issue 10
saw ``ChannelExists`` brick such a start; now the settings are applied (and logged) and nothing
acknowledged is lost, duplicated or reordered."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
import redis

from bus import Bus
from bus.channels import ChannelKind
from tests.brokers import REDIS_URL
from tests.faults.ledger import Ledger, Publisher, records
from tests.faults.workers import FaultWorker, fast_settings
from tests.support.process import wait_until
from tests.support.servers import RedisServer

pytestmark = [pytest.mark.fault, pytest.mark.slow, pytest.mark.redis]
AGENTS = ("rec-a", "rec-b")
CHANNEL = "#engineering"


def _hosted(bus: Bus) -> bool:
    agents = set(bus.agents())
    return all(a in agents and CHANNEL in bus.subscriptions(a) for a in AGENTS)


def test_a_worker_restarted_with_other_settings_applies_them_and_loses_nothing(
    redis_server: RedisServer, shared_redis: None, tmp_path: Path
) -> None:
    settings = fast_settings(redis_server.url)
    changed = settings.model_copy(
        update={
            "retention_max_messages": settings.retention_max_messages * 2,
            "broadcast_channels": frozenset({"#all-hands", "#incidents"}),
            "default_channels": (*settings.default_channels, "#ops"),
        }
    )
    recorder = redis.Redis.from_url(REDIS_URL)
    ledger = Ledger()
    first = FaultWorker(settings, log=tmp_path / "first.log")
    second: FaultWorker | None = None
    publisher = Publisher(settings, ledger, CHANNEL, count=800, interval=0.005, timeout=60)
    began = time.monotonic()
    try:
        first.wait_ready()
        with Bus(settings) as bus:
            wait_until(lambda: _hosted(bus), 30, "the worker to register its agents")
        publisher.start()
        wait_until(lambda: len(ledger.acknowledged.get(CHANNEL, ())) >= 200, 60, "200 acks")
        first.stop()  # warm shutdown, mid-stream
        second = FaultWorker(changed, log=tmp_path / "second.log")
        second.wait_ready()
        with Bus(changed) as other:  # any process with the new settings starts too
            incidents = other.get_channel("#incidents")
            ops = other.get_channel("#ops")
        publisher.finish(timeout=90)

        def caught_up() -> bool:
            ledger.read_handled(records(recorder, settings.namespace))
            return ledger.all_handled(AGENTS, CHANNEL)

        with contextlib.suppress(TimeoutError):
            wait_until(caught_up, 60, "every acknowledged message to be handled")
        time.sleep(1)
        ledger.read_handled(records(recorder, settings.namespace))
        alive = second.alive
        with Bus(changed) as bus:
            retention = bus.get_channel(CHANNEL).spec.retention.max_messages
    finally:
        publisher.stop_event.set()
        first.stop()
        if second is not None:
            second.stop()
        recorder.delete(f"{settings.namespace}:test:runs")
        recorder.close()
    report = ledger.report("restart with changed settings", AGENTS, CHANNEL)
    print(report)
    print(f"second worker alive: {alive}; whole test {time.monotonic() - began:.1f} s")
    log = (tmp_path / "second.log").read_text(errors="replace")
    assert alive, "the worker restarted with changed settings exited"
    assert "ChannelExists" not in log
    assert retention == changed.retention_max_messages
    assert incidents.spec.kind is ChannelKind.BROADCAST
    assert set(AGENTS) <= incidents.members
    assert ops.name == "#ops"
    assert report.raw_errors == {}
    assert report.lost == 0
    assert report.order_violations == 0

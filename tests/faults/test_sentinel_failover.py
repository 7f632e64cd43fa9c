"""Redis Sentinel: the master (broker and store) killed mid-stream under a publisher, a worker
and a pull reader (issue 20, items 2-4).

Private servers only: a master, its replica and three sentinels on loopback ports
(tests/support/sentinel_group.py; the sentinels call a master down after 1 s). The fault: the
replica frozen (``SIGSTOP``) and its link cut (``CLIENT KILL TYPE replica``), then, once
publishes were made that it cannot get, a ``kill -9`` of the master: the window an asynchronous
replica always has, made wide enough to hit on purpose.

- ``BUS_STORE_MIN_REPLICAS=1``: a publish returns only once the replica has the append. Every
  publish that returned is handled by each member (two hosted agents and a pull reader), in
  order; the refused ones are ``NotReplicated`` or ``StoreUnavailable``; no fence holds a
  publish that returned (a refused one that was handed over before the failover may be fenced).
  With one replica, the promoted one has none until the killed server comes back (as its
  replica, with ``replica-priority 0``: never promoted while it syncs), so publishes are
  refused until then.
- ``BUS_STORE_MIN_REPLICAS=0``: publishes go on at once; what the promoted replica lacks was
  acknowledged, and is reported: fences with the exact seq ranges, which hold every
  acknowledged seq that no member handled; no seq is given to two messages; the worker keeps
  consuming. Time to resume is printed.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bus import Bus
from bus.errors import BusError
from bus.settings import BusSettings
from bus.store import Fence
from tests.brokers import REDIS_URL
from tests.faults.conftest import _missing
from tests.faults.ledger import Ledger, Publisher, Report, records
from tests.faults.workers import FaultWorker, fast_settings
from tests.support.process import wait_until
from tests.support.sentinel_group import MASTER, SentinelGroup

pytestmark = [pytest.mark.fault, pytest.mark.slow, pytest.mark.redis]
HOSTED = ("rec-a", "rec-b")
PULLER = "ha-puller"
MEMBERS = (*HOSTED, PULLER)
CHANNEL = "#engineering"


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelGroup]:
    """A started master, replica and three sentinels of the test's own."""
    if shutil.which("redis-server") is None:
        _missing("redis-server is not installed")
    group = SentinelGroup(tmp_path / "ha")
    try:
        yield group.start()
    finally:
        group.close()


class Puller(threading.Thread):
    """Receives ``CHANNEL`` as ``PULLER`` until stopped, booking each message in ``ledger``."""

    def __init__(self, settings: BusSettings) -> None:
        super().__init__(name="ha-puller", daemon=True)
        self.settings, self.ledger = settings, Ledger()
        self.stop_event = threading.Event()
        self.refused: dict[str, int] = {}
        self.raw: list[str] = []

    def run(self) -> None:
        with Bus(self.settings) as bus:
            while not self.stop_event.is_set():
                try:
                    message = bus.receive(PULLER, channel=CHANNEL, timeout=0.5)
                except BusError as exc:  # during the failover: try again
                    self.refused[type(exc).__name__] = self.refused.get(type(exc).__name__, 0) + 1
                    time.sleep(0.1)
                    continue
                except Exception as exc:
                    self.raw.append(repr(exc))
                    time.sleep(0.1)
                    continue
                if message is not None and message.seq is not None:
                    self.ledger.handle(PULLER, CHANNEL, message.seq)


def _settings(group: SentinelGroup, min_replicas: int) -> BusSettings:
    values = fast_settings(group.url).model_dump()
    values.update(
        sentinel_master=MASTER, store_min_replicas=min_replicas, store_replica_timeout=0.5
    )
    return BusSettings.model_validate(values)


def _hosted(bus: Bus) -> bool:
    agents = set(bus.agents())
    return all(a in agents and CHANNEL in bus.subscriptions(a) for a in HOSTED)


def _fenced(fences: list[Fence], seq: int) -> bool:
    return any(f.stream == f"c:{CHANNEL}" and f.first <= seq <= f.last for f in fences)


def _failover(
    min_replicas: int, group: SentinelGroup, tmp_path: Path
) -> tuple[Ledger, Puller, list[Fence], dict[str, float], bool, str]:
    """Run the scenario; what was booked, the fences, the times, whether the worker lived."""
    settings = _settings(group, min_replicas)
    recorder = redis.Redis.from_url(REDIS_URL)
    ledger = Ledger()
    log = tmp_path / "worker.log"
    with Bus(settings) as bus:
        bus.register_agent(PULLER, channels=[CHANNEL])
    worker = FaultWorker(settings, log=log)
    puller = Puller(settings)
    publisher = Publisher(settings, ledger, CHANNEL, count=100_000, interval=0.01, timeout=60)
    times: dict[str, float] = {}
    key = (PULLER, CHANNEL)
    try:
        worker.wait_ready()
        with Bus(settings) as bus:
            wait_until(lambda: _hosted(bus), 30, "the worker to register its agents")
        puller.start()
        publisher.start()
        wait_until(lambda: len(ledger.acknowledged.get(CHANNEL, ())) >= 150, 60, "150 acks")
        # The replica frozen and its link cut: what the master appends now, it never gets.
        replica = group.replica.process
        assert replica is not None
        replica.send_signal(signal.SIGSTOP)
        master = group.master.client()
        try:
            master.client_kill_filter(_type="replica")
            frozen = len(ledger.acknowledged.get(CHANNEL, ()))
            wait_until(  # the window hit: acknowledged (0) or refused (1) appends, not replicated
                lambda: (
                    ledger.refused["NotReplicated"] >= 1
                    if min_replicas
                    else len(ledger.acknowledged.get(CHANNEL, ())) >= frozen + 5
                ),
                10,
                "publishes the replica does not get",
            )
            acked_before = len(ledger.acknowledged.get(CHANNEL, ()))
            group.master.kill()
            killed = time.monotonic()
        finally:
            replica.send_signal(signal.SIGCONT)
            master.close()
        wait_until(lambda: group.master_port() == group.replica.port, 30, "the promotion")
        times["promoted"] = time.monotonic() - killed
        if min_replicas:  # the killed server back, empty, as the new master's replica
            # Never promoted (priority 0): on a loaded machine the new master can miss the
            # sentinels' pings for the 1 s of down-after-milliseconds while this server still
            # waits for its first sync, and a second failover onto it would flush the promoted
            # master's data (its replica then): a second fault this test does not make
            # (docs/operations.md, Sentinel).
            group.master.options = (
                *("--replicaof", "127.0.0.1", str(group.replica.port)),
                *("--replica-priority", "0"),
            )
            group.master.start()
        wait_until(
            lambda: len(ledger.acknowledged.get(CHANNEL, ())) > acked_before, 30, "a publish"
        )
        times["publishing"] = time.monotonic() - killed
        first_after = ledger.acknowledged[CHANNEL][acked_before]

        def handled_after() -> bool:
            ledger.read_handled(records(recorder, settings.namespace))
            return any(seq >= first_after for seq in ledger.handled.get(("rec-a", CHANNEL), []))

        wait_until(handled_after, 30, "the worker to handle a message published after the kill")
        times["handling"] = time.monotonic() - killed
        time.sleep(2)  # a little more traffic after the failover
        publisher.stop_event.set()
        publisher.finish(timeout=30)

        def settled() -> bool:
            ledger.read_handled(records(recorder, settings.namespace))
            ledger.handled[(PULLER, CHANNEL)] = list(puller.ledger.handled.get(key, []))
            with Bus(settings) as bus:
                fences = bus.store.epochs.fences()
            return all(
                seq in set(ledger.handled.get((member, CHANNEL), ())) or _fenced(fences, seq)
                for member in MEMBERS
                for seq in ledger.acknowledged.get(CHANNEL, ())
            )

        with contextlib.suppress(TimeoutError):  # the figures below say what is missing
            wait_until(settled, 30, "every acknowledged message handled or fenced")
        puller.stop_event.set()
        puller.join(10)
        ledger.handled[key] = list(puller.ledger.handled.get(key, []))
        with Bus(settings) as bus:
            fences = bus.store.epochs.fences()
        alive = worker.alive
    finally:
        publisher.stop_event.set()
        puller.stop_event.set()
        worker.stop()
        recorder.delete(f"{settings.namespace}:test:runs")
        recorder.close()
    return ledger, puller, fences, times, alive, log.read_text(errors="replace")


def _reported(
    min_replicas: int, group: SentinelGroup, tmp_path: Path
) -> tuple[Report, Ledger, list[Fence], bool, str]:
    """:func:`_failover`, its figures printed; no raw error reached a publisher or the reader."""
    ledger, puller, fences, times, alive, log = _failover(min_replicas, group, tmp_path)
    title = f"Sentinel failover, BUS_STORE_MIN_REPLICAS={min_replicas}"
    report = ledger.report(title, MEMBERS, CHANNEL)
    print(report)
    print(f"fences: {fences}; times after the kill (s): {times}; puller: {puller.refused}")
    assert report.raw_errors == {}
    assert puller.raw == []
    return report, ledger, fences, alive, log


def test_with_one_replica_asked_every_returned_publish_survives_the_master_killed(
    sentinels: SentinelGroup, tmp_path: Path
) -> None:
    report, ledger, fences, alive, _ = _reported(1, sentinels, tmp_path)
    assert set(report.refused) <= {"NotReplicated", "StoreUnavailable"}
    assert report.lost == 0
    assert report.order_violations == 0
    # A refused publish may have been handed over before the failover lost it (a fence says so),
    # never one that returned.
    fenced = [seq for seq in ledger.acknowledged.get(CHANNEL, []) if _fenced(fences, seq)]
    assert fenced == []
    assert alive


def test_with_no_replica_asked_what_the_failover_lost_is_fenced_and_reported(
    sentinels: SentinelGroup, tmp_path: Path
) -> None:
    report, ledger, fences, alive, log = _reported(0, sentinels, tmp_path)
    acknowledged = ledger.acknowledged.get(CHANNEL, [])
    assert len(acknowledged) == len(set(acknowledged)), "a seq was given to two messages"
    unreported = [
        (row.agent, seq)
        for row in report.streams
        for seq in row.lost_seqs
        if not _fenced(fences, seq)
    ]
    assert unreported == [], "acknowledged messages lost without a fence"
    assert report.order_violations == 0
    assert alive
    # Acknowledged appends the replica never got: found, fenced, and each member told.
    assert fences, "the promoted replica lacks acknowledged appends: no fence"
    assert re.search(r"ERROR.*lost in a store failover", log)

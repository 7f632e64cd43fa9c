"""``celery -A bus worker`` subprocesses on Redis and RabbitMQ: order, crashes, two workers."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from bus import Bus
from config.settings import BusSettings
from tests.worker.harness import WorkerProcess, runs, wait_for

pytestmark = pytest.mark.slow
AGENTS = ("rec-a", "rec-b")


def _hosted(bus: Bus) -> bool:
    agents = set(bus.agents())
    return all(a in agents and "#engineering" in bus.subscriptions(a) for a in AGENTS)


def _by_agent(settings: BusSettings, phase: str) -> dict[str, list[int]]:
    seqs: dict[str, list[int]] = defaultdict(list)
    for record in runs(settings):
        if record[0] == phase and record[2] == "#engineering":
            seqs[record[1]].append(int(record[3]))
    return seqs


def _all_done(settings: BusSettings, total: int) -> bool:
    done = _by_agent(settings, "done")
    return all(set(done.get(agent, ())) >= set(range(1, total + 1)) for agent in AGENTS)


def _publish(settings: BusSettings, contents: list[str]) -> None:
    with Bus(settings) as bus:
        wait_for(lambda: _hosted(bus), 30, "the worker to register its agents")
        for content in contents:
            bus.publish("#engineering", content, sender="tester")


@pytest.mark.parametrize(("pool", "concurrency"), [("prefork", 2), ("solo", 1)])
def test_handlers_run_in_channel_order_whatever_the_pool(
    broker_settings: BusSettings, tmp_path: Path, pool: str, concurrency: int
) -> None:
    worker = WorkerProcess(
        broker_settings, pool=pool, concurrency=concurrency, log=tmp_path / "w.log"
    )
    try:
        worker.wait_ready()
        total = 40
        _publish(broker_settings, [f"m{i}" for i in range(total)])
        wait_for(lambda: _all_done(broker_settings, total), 90, f"{total} deliveries per agent")
    finally:
        worker.stop()
    for phase in ("start", "done"):
        seqs = _by_agent(broker_settings, phase)
        for agent in AGENTS:
            assert seqs[agent] == list(range(1, total + 1)), (phase, agent)


def test_two_worker_processes_on_the_same_agents_keep_channel_order(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    workers = [
        WorkerProcess(broker_settings, pool="prefork", concurrency=2, log=tmp_path / f"w{i}.log")
        for i in range(2)
    ]
    try:
        for worker in workers:
            worker.wait_ready()
        total = 40
        _publish(broker_settings, ["sleep:0.01" if i % 5 else f"m{i}" for i in range(total)])
        wait_for(lambda: _all_done(broker_settings, total), 90, f"{total} deliveries per agent")
    finally:
        for worker in workers:
            worker.stop()
    seqs = _by_agent(broker_settings, "start")
    for agent in AGENTS:
        assert seqs[agent] == list(range(1, total + 1)), agent
    pids = {record[5] for record in runs(broker_settings)}
    assert len(pids) >= 2, "both workers' processes should have handled deliveries"


def test_a_worker_killed_mid_handler_loses_nothing_and_keeps_order(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    total = 8
    first = WorkerProcess(broker_settings, pool="solo", log=tmp_path / "first.log")
    second = None
    try:
        first.wait_ready()
        _publish(broker_settings, ["sleep:0.4"] * total)
        wait_for(lambda: len(_by_agent(broker_settings, "start")["rec-a"]) >= 3, 30, "3 starts")
        first.kill()  # SIGKILL, in the middle of a 0.4 s handler
        killed_at = {agent: len(seqs) for agent, seqs in _by_agent(broker_settings, "done").items()}
        second = WorkerProcess(broker_settings, pool="solo", log=tmp_path / "second.log")
        second.wait_ready()
        wait_for(lambda: _all_done(broker_settings, total), 90, "every delivery after the crash")
    finally:
        first.kill()
        if second is not None:
            second.stop()
    done = _by_agent(broker_settings, "done")
    starts = _by_agent(broker_settings, "start")
    for agent in AGENTS:
        assert done[agent] == list(range(1, total + 1)), agent  # no gap, no duplicate, in order
        # At least one handler was cut short by the kill and ran again from the start.
        assert len(starts[agent]) >= total, agent
        assert starts[agent] == sorted(starts[agent]), agent
    assert any(count < total for count in killed_at.values()), "the kill came too late"

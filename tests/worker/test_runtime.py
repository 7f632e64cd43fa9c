"""The agent runtime under agent workloads: async handlers that wait, on real workers.

Each test runs real ``celery -A bus worker`` subprocesses on Redis and on RabbitMQ (or an
embedded worker on memory://) hosting :mod:`tests.helpers.runtime_agents`, and reads what the
handlers recorded. Nothing here asserts a duration: overlap is read from the order of the
records, and every wait is a deadline for something to happen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bus import Bus
from bus.broker.celery_app import create_app
from bus.deadletters.operations import list_dead_letters
from bus.settings import BusSettings
from bus.testing import join
from bus.worker import EmbeddedWorker, install, load_agents
from tests.brokers import settings_for
from tests.helpers import recorder_agents
from tests.helpers.runtime_agents import most_in_flight, runs_of
from tests.worker.harness import FAST, WorkerProcess, runs, wait_for

pytestmark = pytest.mark.slow

MODULE = "tests.helpers.runtime_agents"
TRIO = ("rt-a", "rt-b", "rt-c")


def _lines(settings: BusSettings) -> list[str]:
    return [" ".join(fields) for fields in runs(settings)]


def _worker(
    settings: BusSettings, log: Path, llm_url: str = "", **options: object
) -> WorkerProcess:
    env = {"BUS_TEST_LLM_URL": llm_url} if llm_url else {}
    env.update({key: str(value) for key, value in options.pop("env", {}).items()})  # type: ignore[attr-defined]
    worker = WorkerProcess(settings, log=log, modules=MODULE, env=env, **options)  # type: ignore[arg-type]
    worker.wait_ready()
    return worker


def _registered(bus: Bus) -> None:
    wait_for(lambda: "#engineering" in bus.subscriptions("rt-c"), 30, "registration")


@pytest.mark.parametrize(
    ("pool", "concurrency"),
    [(None, None), ("prefork", 2), ("solo", 1)],
    ids=["default", "prefork", "solo"],
)
def test_an_async_handler_reuses_one_module_level_client_on_every_message(
    broker_settings: BusSettings,
    tmp_path: Path,
    llm_url: str,
    pool: str | None,
    concurrency: int | None,
) -> None:
    worker = _worker(
        broker_settings, tmp_path / "w.log", llm_url, pool=pool, concurrency=concurrency
    )
    try:
        with Bus(broker_settings) as bus:
            _registered(bus)
            for _ in range(6):
                bus.publish("#engineering", "llm:0.05", sender="tester")
            for agent in TRIO:
                join(bus, agent, timeout=60)
            lines = _lines(broker_settings)
            assert {agent: runs_of(lines, agent) for agent in TRIO} == {
                agent: [1, 2, 3, 4, 5, 6] for agent in TRIO
            }
            assert list_dead_letters(bus) == []
    finally:
        worker.stop()


@pytest.fixture
def embedded() -> Iterator[Bus]:
    """The runtime agents hosted by an embedded worker on memory:// (threads pool)."""
    recorder_agents.RUNS.clear()
    settings = settings_for("memory", **FAST)
    app = create_app(settings)
    install(app, settings, load_agents([MODULE]))
    with Bus(settings, app=app) as bus, EmbeddedWorker(app, concurrency=8):
        _registered(bus)
        yield bus
        bus.destroy()


@pytest.mark.memory
def test_on_memory_async_handlers_share_one_loop_and_overlap(
    embedded: Bus, llm_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUS_TEST_LLM_URL", llm_url)
    for _ in range(5):
        embedded.publish("#engineering", "llm:0.1", sender="tester")
    for agent in TRIO:
        join(embedded, agent, timeout=30)
    lines = list(recorder_agents.RUNS)
    assert {agent: runs_of(lines, agent) for agent in TRIO} == {
        agent: [1, 2, 3, 4, 5] for agent in TRIO
    }
    assert most_in_flight(lines) >= 2, "the three agents' handlers never overlapped"
    assert sum(line.startswith("startup") for line in lines) == 1  # once per process
    assert list_dead_letters(embedded) == []


def test_agents_overlap_while_each_stream_stays_in_order_across_two_workers(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    workers = [_worker(broker_settings, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        with Bus(broker_settings) as bus:
            _registered(bus)
            for index in range(12):
                bus.publish("#engineering", f"sleep:0.0{(index * 7) % 10}", sender="tester")
            for agent in TRIO:
                join(bus, agent, timeout=60)
        lines = _lines(broker_settings)
        assert {agent: runs_of(lines, agent) for agent in TRIO} == {
            agent: list(range(1, 13)) for agent in TRIO
        }
        assert most_in_flight(lines) >= 2, "the agents' handlers never overlapped"
    finally:
        for worker in workers:
            worker.stop()


def test_a_hung_handler_is_cancelled_at_its_timeout_retried_then_dead_lettered(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    worker = _worker(broker_settings, tmp_path / "w.log")
    try:
        with Bus(broker_settings) as bus:
            wait_for(lambda: "rt-hang" in bus.agents(), 30, "registration")
            bus.send("rt-hang", "hang", sender="tester")
            bus.send("rt-hang", "sleep:0", sender="tester")
            join(bus, "rt-hang", timeout=60)
            letters = list_dead_letters(bus)
        lines = _lines(broker_settings)
        starts = [
            int(f[4])
            for f in (line.split() for line in lines)
            if f[:4] == ["start", "rt-hang", "DM", "1"]
        ]
        assert starts == [1, 2, 3]  # every attempt ran, max_retries=2
        assert [(letter.agent, letter.seq) for letter in letters] == [("rt-hang", 1)]
        assert "timed out after 0.5 s" in letters[0].error
        assert runs_of(lines, "rt-hang") == [2]  # the stream moved on
    finally:
        worker.stop()


def test_sigterm_mid_handler_cancels_after_the_grace_and_the_next_worker_takes_over(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    settings = broker_settings.model_copy(update={"shutdown_grace": 1.0})
    first = _worker(settings, tmp_path / "first.log")
    with Bus(settings) as bus:
        wait_for(lambda: "rt-a" in bus.agents(), 30, "registration")
        for content in ("sleep:60", "sleep:0", "sleep:0"):
            bus.send("rt-a", content, sender="tester")
        wait_for(lambda: runs_of(_lines(settings), "rt-a", "start") == [1], 30, "the long handler")
        first.terminate()
        wait_for(lambda: first.process.poll() is not None, 30, "the worker to exit on SIGTERM")
        first.stop()
        lines = _lines(settings)
        assert runs_of(lines, "rt-a") == []  # cancelled, not committed
        assert any(line.startswith("shutdown ") for line in lines)  # on_shutdown ran
        second = _worker(settings, tmp_path / "second.log", env={"BUS_TEST_NO_SLEEP": "1"})
        try:
            join(bus, "rt-a", timeout=60)
        finally:
            second.stop()
    assert runs_of(_lines(settings), "rt-a") == [1, 2, 3]  # nothing lost, in order, once


def test_a_request_to_an_agent_of_the_same_worker_is_answered_with_every_slot_busy(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    worker = _worker(broker_settings, tmp_path / "w.log", pool="threads", concurrency=2)
    try:
        with Bus(broker_settings) as bus:
            wait_for(lambda: "rt-c" in bus.agents(), 30, "registration")
            bus.send("rt-a", "ask:rt-c", sender="tester")  # each holds a pool thread while
            bus.send("rt-b", "ask:rt-c", sender="tester")  # its handler awaits rt-c
            for agent in ("rt-a", "rt-b", "rt-c"):
                join(bus, agent, timeout=60)
        answers = sorted(line for line in _lines(broker_settings) if line.startswith("answer"))
        assert answers == ["answer rt-a rt-c pong_from_rt-c", "answer rt-b rt-c pong_from_rt-c"]
    finally:
        worker.stop()


def test_a_slow_agents_backlog_does_not_stall_another_agent_of_the_same_worker(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    worker = _worker(broker_settings, tmp_path / "w.log")
    try:
        with Bus(broker_settings) as bus:
            _registered(bus)
            for _ in range(20):
                bus.publish("#engineering", "slow:rt-a:0.3", sender="tester")
            join(bus, "rt-b", timeout=60)
            slow_done = len(runs_of(_lines(broker_settings), "rt-a"))
            assert slow_done < 15, f"rt-b waited for rt-a: rt-a had done {slow_done} of 20"
            join(bus, "rt-a", timeout=60)
        lines = _lines(broker_settings)
        assert runs_of(lines, "rt-a") == list(range(1, 21))
        assert runs_of(lines, "rt-b") == list(range(1, 21))
    finally:
        worker.stop()

"""The guards with real workers (issue 23): a ping-pong loop stopped at the hop limit with a
dead letter naming it, and a budget shared by two worker processes; embedded on memory://,
``celery -A bus worker`` subprocesses on Redis and RabbitMQ."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bus import Bus
from bus.broker.celery_app import create_app
from bus.deadletters.operations import list_dead_letters
from bus.worker import EmbeddedWorker, install, load_agents
from tests.brokers import require, settings_for
from tests.worker.harness import FAST, WorkerProcess, wait_for

MODULES = "tests.helpers.guard_agents"
AGENTS = ("ping", "pong", "spender", "sink", "chat")
#: A low hop limit, so a loop ends within seconds (the spender's budget is its own: 50 tokens).
LIMITS = {**FAST, "max_retries": 0, "max_hops": 6}


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("amqp", marks=pytest.mark.amqp),
    ]
)
def guarded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bus]:
    """A bus whose guard agents are hosted: by an embedded worker on memory, by two worker
    processes on Redis and RabbitMQ."""
    transport = request.param
    require(transport)
    settings = settings_for(transport, **LIMITS, agent_modules=(MODULES,))
    if transport == "memory":
        app = create_app(settings)
        install(app, settings, load_agents([MODULES]))
        with Bus(settings, app=app) as bus, EmbeddedWorker(app, pool="threads", concurrency=4):
            _registered(bus)
            yield bus
            bus.destroy()
        return
    workers = [
        WorkerProcess(
            settings, log=tmp_path / f"w{index}.log", modules=MODULES, pool="threads", concurrency=8
        )
        for index in range(2)
    ]
    try:
        for worker in workers:
            worker.wait_ready()
        with Bus(settings) as bus:
            _registered(bus)
            yield bus
            bus.destroy()
    finally:
        for worker in workers:
            worker.stop()


def _registered(bus: Bus) -> None:
    wait_for(lambda: set(AGENTS) <= set(bus.agents()), 30, "the guard agents' registration")
    bus.register_agent("alice")


def test_agents_answering_each_other_stop_at_the_hop_limit_with_a_dead_letter(
    guarded: Bus,
) -> None:
    guarded.send("ping", "start", sender="alice")
    guarded.send("chat", "hello", sender="alice")

    def stopped() -> list[str]:
        return [d.error for d in list_dead_letters(guarded) if d.agent in ("ping", "pong")]

    wait_for(stopped, 30, "the loop's dead letter")
    assert "HopLimitExceeded" in stopped()[0]
    assert "BUS_MAX_HOPS" in stopped()[0]
    chain = guarded.direct_history("ping") + guarded.direct_history("pong")
    assert max(message.hops for message in chain) == 6
    letter = next(d for d in list_dead_letters(guarded) if d.agent in ("ping", "pong"))
    assert letter.message.hops == 6
    assert letter.attempts == 1
    # Other traffic goes on: chat answered alice.
    wait_for(lambda: guarded.direct_history("alice"), 10, "chat's answer to alice")


def test_a_budget_is_shared_by_every_worker_process(guarded: Bus) -> None:
    for index in range(8):
        guarded.send("spender", f"job {index}", sender="alice")

    def refused() -> list[str]:
        return [d.error for d in list_dead_letters(guarded) if d.agent == "spender"]

    wait_for(lambda: len(refused()) == 3, 30, "the jobs over budget, dead-lettered")
    assert all("budget" in error for error in refused())
    assert len(guarded.direct_history("sink")) == 5  # 5 x 10 tokens: the budget of 50
    spend = guarded.store.guards.spending(int(guarded.settings.budget_window * 1000))
    assert spend["spender"].tokens == 50

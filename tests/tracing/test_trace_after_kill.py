"""``bus trace`` after a worker was killed mid-chain (issue 18): two ``celery -A bus worker``
processes on Redis, and on RabbitMQ (Redis the store), host the chain A -> B -> C
(tests/helpers/chain_agents.py); the worker handling B's step is SIGKILLed after B posted its
answer, the other takes B's stream over and runs the step again. The tree from the store shows
A -> B -> C exactly once each: the retried step's post is deduplicated (its idempotency key),
so no second child appears."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bus import Bus
from bus.settings import BusSettings
from bus.testing import environment_for, join
from tests.brokers import require, settings_for
from tests.worker.harness import FAST, ROOT, WorkerProcess, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.fault, pytest.mark.redis]

CHAIN = "tests.helpers.chain_agents"
AGENTS = "chain-a,chain-b,chain-c"


def _nodes(node: dict[str, object]) -> list[dict[str, object]]:
    children = node["children"]
    assert isinstance(children, list)
    return [node] + [found for child in children for found in _nodes(child)]


@pytest.mark.parametrize("transport", ["redis", pytest.param("amqp", marks=pytest.mark.amqp)])
def test_bus_trace_after_a_worker_was_killed_mid_chain_shows_each_step_once(
    tmp_path: Path, transport: str
) -> None:
    require(transport)
    settings: BusSettings = settings_for(transport, **FAST)
    stall = tmp_path / "chain-b.pid"
    env = {"BUS_AGENTS": AGENTS, "CHAIN_B_STALL": str(stall)}
    workers = [
        WorkerProcess(
            settings, pool="threads", concurrency=4, log=tmp_path / f"{name}.log",
            modules=CHAIN, env=env,
        )
        for name in ("first", "second")
    ]  # fmt: skip
    try:
        for worker in workers:
            worker.wait_ready()
        with Bus(settings) as bus:
            wait_for(lambda: set(AGENTS.split(",")) <= set(bus.agents()), 30, "agents")
            wait_for(lambda: "#code-review" in bus.subscriptions("chain-c"), 30, "membership")
            task = bus.publish("#engineering", "the API", sender="ceo")
            wait_for(stall.exists, 30, "chain-b's first handling")
            wait_for(lambda: stall.read_text().strip() != "", 5, "chain-b's pid")
            pid = int(stall.read_text())
            (killed,) = [worker for worker in workers if worker.process.pid == pid]
            killed.kill()  # SIGKILL, in the middle of chain-b's step
            for agent in AGENTS.split(","):
                join(bus, agent, 90)
            tree = bus.trace(task.id)
        shown = subprocess.run(
            [sys.executable, "-m", "bus", "--json", "trace", str(task.id)],
            cwd=ROOT,
            env=environment_for(settings, pythonpath=[ROOT]),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        for worker in workers:
            worker.kill()
        Bus(settings).start().destroy()

    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert (document["message_id"], document["sender"]) == (str(task.id), "ceo")
    (dm,) = document["children"]
    assert (dm["sender"], dm["recipient"]) == ("chain-a", "chain-b")
    (post,) = dm["children"]  # one answer, though chain-b's step ran twice
    assert (post["sender"], post["channel"], post["children"]) == ("chain-b", "#code-review", [])
    assert [node["sender"] for node in _nodes(document)] == ["ceo", "chain-a", "chain-b"]
    assert [node.hops for _, node in tree.root.walk()] == [0, 1, 2]

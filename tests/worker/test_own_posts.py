"""What an agent is handed of its own channel posts: nothing by default, everything with
``Agent(receive_own=True)``; hosted on memory:// (embedded) and by worker subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from bus import Bus
from bus.settings import BusSettings
from bus.testing import join
from bus.worker import EmbeddedWorker, create_worker_app, load_agents
from tests.brokers import settings_for
from tests.helpers import recorder_agents
from tests.worker.harness import FAST, WorkerProcess, runs, wait_for

MODULE = "tests.helpers.own_post_agents"
#: Each agent handles the others' posts; only loud handles its own.
EXPECTED = {
    "quiet": ["cli from cli", "loud from loud"],
    "loud": ["cli from cli", "loud from loud", "quiet from quiet"],
}


def _converse(bus: Bus) -> None:
    bus.send("quiet", "from quiet", sender="cli")
    bus.send("loud", "from loud", sender="cli")
    bus.publish("#engineering", "from cli", sender="cli")
    wait_for(lambda: bus.get_channel("#engineering").last_seq == 3, 20, "the three posts")
    for agent in ("quiet", "loud"):
        join(bus, agent, timeout=20)


def _seen(records: list[str]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"quiet": [], "loud": []}
    for line in records:
        agent, rest = line.split(" ", 1)
        seen[agent].append(rest)
    return {agent: sorted(lines) for agent, lines in seen.items()}


@pytest.mark.memory
def test_on_memory_an_agent_is_not_handed_its_own_posts_unless_it_asks() -> None:
    settings = settings_for("memory", **FAST)
    recorder_agents.RUNS.clear()
    app = create_worker_app(settings, load_agents([MODULE]))
    with Bus(settings, app=app) as bus, EmbeddedWorker(app):
        wait_for(lambda: {"quiet", "loud"} <= set(bus.agents()), 10, "registration")
        _converse(bus)
        bus.destroy()

    assert _seen(list(recorder_agents.RUNS)) == EXPECTED


@pytest.mark.slow
def test_on_a_broker_an_agent_is_not_handed_its_own_posts_unless_it_asks(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    worker = WorkerProcess(broker_settings, log=tmp_path / "worker.log", modules=MODULE)
    try:
        worker.wait_ready()
        with Bus(broker_settings) as bus:
            wait_for(lambda: {"quiet", "loud"} <= set(bus.agents()), 20, "registration")
            _converse(bus)
    finally:
        worker.stop()

    assert _seen([" ".join(fields) for fields in runs(broker_settings)]) == EXPECTED

"""The guards' command line (issue 23): ``bus agents`` shows an open circuit, ``bus budgets``
the spend, ``bus circuit reset`` closes the circuit, and a refused ``bus send`` says why in one
line; real ``bus`` subprocesses on Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bus import Bus, CircuitOpen
from bus.settings import BusSettings
from tests.brokers import require, settings_for
from tests.helpers.cli_support import assert_one_line_error, cli_environment, run_bus

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@pytest.fixture
def flooded() -> Iterator[tuple[Bus, dict[str, str]]]:
    """A bus on Redis where ``flooder``'s circuit to ``victim`` is open and ``ann`` spent."""
    require("redis")
    settings: BusSettings = settings_for("redis", pair_rate=1.0, pair_burst=2, budget_tokens=100)
    with Bus(settings) as bus:
        for agent in ("flooder", "victim", "ann"):
            bus.register_agent(agent)
        bus.send("victim", "one", sender="flooder")
        bus.send("victim", "two", sender="flooder")
        with pytest.raises(CircuitOpen):
            bus.send("victim", "three", sender="flooder")
        bus.store.guards.charge("ann", 40, 0.5, int(settings.budget_window * 1000))
        env = cli_environment(settings, BUS_PAIR_RATE="1", BUS_PAIR_BURST="2")
        env["BUS_BUDGET_TOKENS"] = "100"
        yield bus, env
        bus.destroy()


def test_the_cli_shows_resets_and_reports_the_guards(flooded: tuple[Bus, dict[str, str]]) -> None:
    bus, env = flooded
    agents = run_bus(env, "--json", "agents")
    rows = {row["name"]: row for row in map(json.loads, agents.stdout.splitlines())}
    assert rows["flooder"]["circuits"] == ["-> victim open"]
    refused = run_bus(env, "send", "victim", "more", "--sender", "flooder")
    assert_one_line_error(refused, 1, "circuit open", "bus circuit reset flooder victim")
    budgets = run_bus(env, "--json", "budgets")
    spend = [json.loads(line) for line in budgets.stdout.splitlines()]
    assert spend == [
        {
            "agent": "ann",
            "tokens": 40,
            "token_limit": 100,
            "cost": 0.5,
            "cost_limit": None,
            "window_seconds": 3600.0,
        }
    ]
    reset = run_bus(env, "circuit", "reset", "flooder", "victim")
    assert reset.returncode == 0
    assert "closed the circuit of flooder -> victim" in reset.stdout
    assert bus.store.guards.circuits() == []
    bus.send("victim", "calm", sender="flooder")

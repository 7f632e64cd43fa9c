"""The console's agents page shows the guards (issue 23): each open circuit with its sender,
target and end, and each agent's spend against its budget, as ``bus agents`` and ``bus
budgets`` read them, on every transport."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from bus import Bus, CircuitOpen
from bus.console import create_app
from bus.worker import AgentLimits
from tests.brokers import settings_for


@pytest.fixture
def guarded(transport: str) -> Iterator[Bus]:
    # One token per 100 s, a burst of 2: the third send of a pair opens its circuit for 60 s.
    settings = settings_for(
        transport, pair_rate=0.01, pair_burst=2, pair_cooldown=60.0, budget_tokens=100
    )
    with Bus(settings) as bus:
        for agent in ("flooder", "victim", "writer", "frugal"):
            bus.register_agent(agent)
        yield bus
        bus.destroy()


def rows(page: str, table: str) -> list[list[str]]:
    """The cells' text of each row of the page's table ``#<table>`` (tags dropped)."""
    body = re.search(rf'<table id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body is not None, f"no table #{table}"
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body[1], re.S)
    ]


def test_the_agents_page_shows_open_circuits_and_budgets(guarded: Bus) -> None:
    client = TestClient(create_app(guarded))
    assert rows(client.get("/agents").text, "circuits") == [["none"]]
    for _ in range(2):
        guarded.send("victim", "again", sender="flooder")
    with pytest.raises(CircuitOpen):
        guarded.send("victim", "again", sender="flooder")
    guarded.send("victim", "report", sender="writer", metadata={"tokens_used": 40, "cost": 0.5})
    guarded.store.guards.set_limits("frugal", AgentLimits(budget_cost=2.0))
    page = client.get("/agents").text
    (circuit,) = rows(page, "circuits")
    assert circuit[:3] == ["flooder", "victim", "open"]
    (until,) = guarded.store.guards.circuits()
    assert re.search(r'<tr class="circuit open">', page)
    ends = datetime.fromtimestamp(until.until_ms / 1000, UTC).isoformat()
    assert f'datetime="{ends}"' in page  # when its cool-down ends
    assert rows(page, "budgets") == [
        ["frugal", "0", "100", "0", "2"],
        ["writer", "40", "100", "0.5", "none"],
    ]
    guarded.store.guards.reset_circuit("flooder", "victim")  # `bus circuit reset`
    assert rows(client.get("/agents").text, "circuits") == [["none"]]

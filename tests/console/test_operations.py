"""The console's operator pages on memory:// (issue 19): the agents with the worker hosting
them, and a dead letter with its error, replayed from the page (and failing again, a new one)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from bus import Bus
from bus.console import create_app
from bus.deadletters.operations import list_dead_letters
from bus.message import Message
from bus.worker import Agent, Context, EmbeddedWorker, create_worker_app
from tests.brokers import settings_for

pytestmark = pytest.mark.memory

breaker = Agent("breaker", channels=["#ops"], description="Fails on everything.")


@breaker.on()
def fail(message: Message, ctx: Context) -> None:
    raise RuntimeError(f"cannot handle {message.content!r}")


@pytest.fixture
def hosted() -> Iterator[Bus]:
    settings = settings_for("memory", max_retries=0, default_channels=("#ops",))
    app = create_worker_app(settings, {"breaker": breaker})
    with Bus(settings, app=app) as bus, EmbeddedWorker(app, pool="threads", concurrency=1):
        yield bus


def _letters(bus: Bus, count: int) -> None:
    deadline = time.monotonic() + 15
    while len(list_dead_letters(bus)) < count:
        assert time.monotonic() < deadline, f"not {count} dead letters within 15 s"
        time.sleep(0.05)


def test_a_dead_letter_shows_its_error_and_is_replayed_from_the_page(hosted: Bus) -> None:
    client = TestClient(create_app(hosted), follow_redirects=False)
    hosted.publish("#ops", "<b>deploy</b> now", sender="ceo")
    _letters(hosted, 1)
    page = client.get("/dead-letters")
    assert "RuntimeError: cannot handle" in page.text
    assert "&lt;b&gt;deploy&lt;/b&gt; now" in page.text
    (seq,) = re.findall(r'action="/dead-letters/(\d+)/replay"', page.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    assert client.post(f"/dead-letters/{seq}/replay").status_code == 403  # no CSRF token
    replayed = client.post(f"/dead-letters/{seq}/replay", data={"csrf": csrf[1]})
    assert (replayed.status_code, replayed.headers["location"]) == (303, "/dead-letters")
    _letters(hosted, 2)  # the replay ran the handler again, which failed again


def test_the_agents_page_names_the_worker_hosting_each_agent(hosted: Bus) -> None:
    client = TestClient(create_app(hosted))
    deadline = time.monotonic() + 15
    while not hosted.store.liveness.workers():
        assert time.monotonic() < deadline, "the worker never beat"
        time.sleep(0.05)
    (worker,) = hosted.store.liveness.workers()
    page = client.get("/agents")
    assert "breaker" in page.text
    assert worker.worker in page.text

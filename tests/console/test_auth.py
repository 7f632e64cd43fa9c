"""The console with ``BUS_AUTH=required`` (issue 19): nobody anonymous (pages, event streams,
ticks), no action without the session's CSRF token, direct messages only for those the policy
lets read them, and a person's post signed with the operator's credentials."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bus import Bus
from bus.console import create_app
from bus.console.options import ConsoleOptions
from bus.console.sessions import Sessions
from tests.auth.deploy import Deployment, deployed
from tests.brokers import settings_for

pytestmark = pytest.mark.memory

SECRET = "console-secret-for-tests"


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    with deployed(settings_for("memory"), tmp_path) as deployment:
        yield deployment


@pytest.fixture
def ops(deployment: Deployment) -> Bus:
    """The console's bus: the operator's credentials; alice got a direct message from bob."""
    bus = deployment.bus_as("ops")
    bus.register_agent("alice", channels=["#engineering"])
    bus.register_agent("bob", channels=["#engineering"])
    deployment.bus_as("bob").send("alice", "the secret plan", sender="bob")
    return bus


@pytest.fixture
def client(ops: Bus) -> TestClient:
    return TestClient(create_app(ops, ConsoleOptions(secret=SECRET)), follow_redirects=False)


def _csrf(client: TestClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def _login(client: TestClient, name: str, secret: str) -> None:
    response = client.post("/login", data={"name": name, "secret": secret, "csrf": _csrf(client)})
    assert response.status_code == 303, response.text


def test_anonymous_requests_are_refused_pages_event_streams_and_ticks(client: TestClient) -> None:
    for path in ("/", "/c/_23engineering", "/d/alice", "/agents", "/dead-letters"):
        response = client.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/login"), path
    assert client.get("/c/_23engineering/events").status_code == 401
    assert client.get("/d/alice/events").status_code == 401
    assert client.get("/api/ticks?ids=x").status_code == 401
    login = client.get("/login")
    assert login.status_code == 200
    assert "Authentication is off" not in login.text


def test_a_wrong_secret_or_a_post_without_the_csrf_token_is_refused(
    client: TestClient, ops: Bus
) -> None:
    refused = client.post("/login", data={"name": "ops", "secret": "guess", "csrf": _csrf(client)})
    assert refused.status_code == 401
    assert client.post("/login", data={"name": "ops", "secret": SECRET}).status_code == 403
    _login(client, "ops", SECRET)
    before = ops.get_channel("#engineering").last_seq
    forged = client.post("/c/_23engineering/post", data={"content": "no token"})
    assert forged.status_code == 403
    wrong = client.post("/c/_23engineering/post", data={"content": "x", "csrf": "not-it"})
    assert wrong.status_code == 403
    assert ops.get_channel("#engineering").last_seq == before


def test_a_dm_is_invisible_to_a_person_the_policy_does_not_let_read_it(
    client: TestClient,
) -> None:
    token = Sessions(auth_required=True, secret=SECRET).person_token("bob")
    _login(client, "bob", token)
    assert "/d/alice" not in client.get("/").text
    page = client.get("/d/alice")
    assert page.status_code == 403
    assert "the secret plan" not in page.text
    assert client.get("/d/alice/events").status_code == 403
    assert client.get("/d/bob").status_code == 200


def test_an_operator_sees_the_dm_and_a_post_is_signed_with_the_operators_credentials(
    client: TestClient, ops: Bus
) -> None:
    _login(client, "ops", SECRET)
    assert "the secret plan" in client.get("/d/alice").text
    csrf = _csrf(client, "/c/_23engineering")
    posted = client.post("/c/_23engineering/post", data={"content": "from a person", "csrf": csrf})
    assert posted.status_code == 303
    (message,) = ops.history("#engineering", limit=1)
    assert (message.content, message.sender) == ("from a person", "ops")
    assert message.metadata.extra["human"] == "human:ops"
    assert message.signature is not None


def test_a_person_sees_no_one_elses_dm_in_threads_ticks_or_dead_letters(
    client: TestClient, ops: Bus
) -> None:
    (dm,) = ops.direct_history("alice")
    token = Sessions(auth_required=True, secret=SECRET).person_token("carol")
    _login(client, "carol", token)
    assert client.get(f"/trace/{dm.id}").status_code == 403
    assert client.get(f"/api/ticks?ids={dm.id}").json() == {}
    assert client.get("/c/_23dead-letters").status_code == 403
    assert client.get("/c/_23dead-letters/events").status_code == 403
    _login(client, "bob", Sessions(auth_required=True, secret=SECRET).person_token("bob"))
    assert client.get(f"/trace/{dm.id}").status_code == 200  # bob sent it
    assert str(dm.id) in client.get(f"/api/ticks?ids={dm.id}").json()


def test_bus_web_prints_a_persons_token_and_refuses_auth_required_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bus.cli import EXIT_USAGE, main

    monkeypatch.setenv("BUS_WEB_SECRET", SECRET)
    assert main(["web", "--token-for", "bob"]) == 0
    assert capsys.readouterr().out.strip() == Sessions(
        auth_required=True, secret=SECRET
    ).person_token("bob")
    monkeypatch.delenv("BUS_WEB_SECRET")
    monkeypatch.delenv("FLOWER_BASIC_AUTH", raising=False)
    monkeypatch.setenv("BUS_AUTH", "required")
    assert main(["web"]) == EXIT_USAGE
    assert "set BUS_WEB_SECRET" in capsys.readouterr().err

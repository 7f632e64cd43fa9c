"""The command line of issue 21: --metadata and custom --type, 'bus agents remove', and a
"did you mean" for unknown names; real ``bus`` subprocesses on Redis and RabbitMQ."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bus import Bus
from bus.settings import BusSettings
from tests.brokers import require, settings_for
from tests.helpers.cli_support import assert_one_line_error, cli_environment, run_bus

pytestmark = pytest.mark.slow


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("amqp", marks=pytest.mark.amqp),
    ]
)
def env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    require(request.param)
    settings = settings_for(request.param)
    yield cli_environment(settings)
    Bus(settings).start().destroy()


def _settings(env: dict[str, str]) -> BusSettings:
    return BusSettings(
        broker_url=env["BUS_BROKER_URL"],
        store_url=env.get("BUS_STORE_URL"),
        namespace=env["BUS_NAMESPACE"],
    )


def test_publish_takes_metadata_and_a_custom_type(env: dict[str, str]) -> None:
    result = run_bus(
        env,
        "--json",
        "publish",
        "#engineering",
        "Build the parser",
        "--type",
        "task",
        "--metadata",
        "task_id=T-7",
        "--metadata",
        "cost=0.25",
        "--metadata",
        "owner=me",
        "--metadata",
        'budget={"tokens": 1000}',
        "--metadata",
        "extra.note=not json: kept as text",
    )

    assert result.returncode == 0, result.stderr
    published = json.loads(result.stdout)
    assert published["type"] == "task"
    assert published["metadata"] == {
        "task_id": "T-7",
        "project_id": None,
        "tokens_used": None,
        "cost": 0.25,
        "extra": {"owner": "me", "budget": {"tokens": 1000}, "note": "not json: kept as text"},
    }
    [stored] = run_bus(env, "--json", "history", "#engineering").stdout.splitlines()
    assert json.loads(stored)["metadata"] == published["metadata"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--metadata", "cost=-1"), "invalid message: metadata.cost"),
        (("--metadata", "no-equals"), "argument --metadata: not KEY=VALUE: 'no-equals'"),
        (("--metadata", f"big={'x' * 17000}"), "metadata.extra: Value error, is 17"),
        (("--type", "Task!"), "argument --type: 'Task!' is not a message type"),
    ],
    ids=["negative cost", "no equals sign", "extra too large", "bad type"],
)
def test_bad_metadata_or_type_is_one_line_and_exit_2(
    env: dict[str, str], args: tuple[str, ...], fragment: str
) -> None:
    assert_one_line_error(run_bus(env, "publish", "#engineering", "hi", *args), 2, fragment)
    with Bus(_settings(env)) as bus:
        assert bus.history("#engineering") == []


def test_agents_remove_unregisters_an_agent(env: dict[str, str]) -> None:
    assert run_bus(env, "register", "scratch", "keeper", "--channel", "#design").returncode == 0

    removed = run_bus(env, "agents", "remove", "scratch")

    assert (removed.returncode, removed.stderr) == (0, "")
    assert (
        removed.stdout
        == "removed agent scratch: its queue is deleted; it left #all-hands, #design\n"
    )
    listed = [
        json.loads(line)["name"] for line in run_bus(env, "--json", "agents").stdout.splitlines()
    ]
    assert listed == ["keeper"]
    assert_one_line_error(
        run_bus(env, "send", "scratch", "still there?"), 2, "no agent named 'scratch'"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ("publish", "#enginering", "hi"),
            "no channel named '#enginering'; did you mean '#engineering'?",
        ),
        (("history", "design"), "no channel named 'design'; did you mean '#design'?"),
        (("send", "kepeer", "hi"), "no agent named 'kepeer' is registered; did you mean 'keeper'?"),
        (("agents", "remove", "keper"), "did you mean 'keeper'?"),
        (("publish", "#zzz", "hi"), "no channel named '#zzz'"),
    ],
    ids=["channel typo", "channel without #", "agent typo", "remove typo", "nothing close"],
)
def test_an_unknown_name_gets_a_did_you_mean(
    env: dict[str, str], args: tuple[str, ...], error: str
) -> None:
    assert run_bus(env, "register", "keeper").returncode == 0

    line = assert_one_line_error(run_bus(env, *args), 2, error)

    assert line.endswith(error)

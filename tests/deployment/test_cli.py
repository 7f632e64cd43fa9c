"""The ``bus`` command line, run for real in subprocesses against Redis and RabbitMQ.

Each test gets a fresh namespace (deleted afterwards); the tests that need agents to answer
share one ``celery -A bus worker`` subprocess per transport, hosting tests/helpers/echo_agents.py
in a namespace of its own.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bus import Bus
from bus.settings import BusSettings
from bus.testing import worker_command
from tests.brokers import REDIS_URL, require, settings_for
from tests.helpers.cli_support import (
    BUS,
    ROOT,
    Lines,
    assert_one_line_error,
    cli_environment,
    run_bus,
)

pytestmark = pytest.mark.slow

BROKERS = [
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("amqp", marks=pytest.mark.amqp),
]


@pytest.fixture
def redis_env() -> Iterator[dict[str, str]]:
    """The environment of a bus on Redis in a fresh namespace, deleted afterwards."""
    require("redis")
    settings = settings_for("redis")
    yield cli_environment(settings)
    Bus(settings).start().destroy()


@pytest.fixture(params=BROKERS)
def broker_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The environment of a bus on Redis, then on RabbitMQ; fresh namespace, deleted after."""
    require(request.param)
    settings = settings_for(request.param)
    yield cli_environment(settings)
    Bus(settings).start().destroy()


def settings_of(env: dict[str, str]) -> BusSettings:
    return BusSettings(
        broker_url=env["BUS_BROKER_URL"],
        store_url=env.get("BUS_STORE_URL"),
        namespace=env["BUS_NAMESPACE"],
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


# -- publishing and reading --------------------------------------------------------------------


def test_publish_prints_the_sequence_number_and_history_shows_the_message(
    broker_env: dict[str, str],
) -> None:
    published = run_bus(broker_env, "publish", "#engineering", "Deploy is green")
    assert published.returncode == 0, published.stderr
    assert published.stdout.startswith("published to #engineering as #1 (id ")
    result = run_bus(broker_env, "history", "#engineering")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("#engineering  #1  cli [announcement]: Deploy is green")


def test_publish_json_is_the_stored_message_with_type_priority_and_sender(
    broker_env: dict[str, str],
) -> None:
    result = run_bus(
        broker_env,
        "--json",
        "publish",
        "#incidents",
        "db down",
        "--type",
        "escalation",
        "--priority",
        "urgent",
        "--sender",
        "ops",
    )
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout)
    assert message["channel"] == "#incidents"
    assert (message["seq"], message["type"], message["priority"]) == (1, "escalation", "urgent")
    assert (message["sender"], message["content"]) == ("ops", "db down")


def test_publish_reads_the_text_from_standard_input_for_a_dash(redis_env: dict[str, str]) -> None:
    result = run_bus(redis_env, "publish", "#product", "-", "--json", stdin="line one\nline two\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["content"] == "line one\nline two"


def test_send_puts_a_direct_message_in_the_agents_inbox(redis_env: dict[str, str]) -> None:
    with Bus(settings_of(redis_env)) as bus:
        bus.register_agent("dana")
    result = run_bus(redis_env, "send", "dana", "Review PR #7?", "--type", "review_request")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sent to dana's inbox as #1 ")
    with Bus(settings_of(redis_env)) as bus:
        [message] = bus.direct_history("dana")
    assert (message.sender, message.type, message.content) == (
        "cli",
        "review_request",
        "Review PR #7?",
    )


def test_history_filters_by_limit_after_and_since(redis_env: dict[str, str]) -> None:
    with Bus(settings_of(redis_env)) as bus:
        for n in range(1, 6):
            bus.publish("#design", f"m{n}", sender="tester")

    def contents(*args: str) -> list[str]:
        result = run_bus(redis_env, "--json", "history", "#design", *args)
        return [message["content"] for message in json_lines(result.stdout)]

    assert contents() == ["m1", "m2", "m3", "m4", "m5"]
    assert contents("--limit", "2") == ["m4", "m5"]
    assert contents("--after", "3") == ["m4", "m5"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert contents("--since", future) == []
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(contents("--since", past)) == 5


def test_history_piped_into_head_ends_quietly(redis_env: dict[str, str]) -> None:
    with Bus(settings_of(redis_env)) as bus:
        for n in range(400):
            bus.publish("#watercooler", f"chatter {n} " + "x" * 200, sender="tester")
    result = subprocess.run(
        f"{shlex.join(BUS)} history '#watercooler' | head -n 1",
        shell=True,
        env=redis_env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.stdout.count("\n") == 1
    assert "chatter 0 " in result.stdout
    assert result.stderr == ""


def test_channels_lists_kind_members_last_seq_retained_and_retention(
    broker_env: dict[str, str],
) -> None:
    with Bus(settings_of(broker_env)) as bus:
        bus.register_agent("erin", channels=["#engineering"])
        bus.publish("#engineering", "one", sender="erin")
        bus.publish("#engineering", "two", sender="erin")
    result = run_bus(broker_env, "channels")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["CHANNEL", "KIND", "MEMBERS", "LAST", "SEQ", "RETAINED", "RETENTION"]
    engineering = next(row for row in rows if row.startswith("#engineering "))
    assert engineering.split() == ["#engineering", "topic", "erin", "2", "2", "1000", "messages"]
    assert any(row.split()[:3] == ["#all-hands", "broadcast", "erin"] for row in rows)
    by_name = {c["name"]: c for c in json_lines(run_bus(broker_env, "--json", "channels").stdout)}
    assert by_name["#engineering"] == {
        "name": "#engineering",
        "kind": "topic",
        "members": ["erin"],
        "last_seq": 2,
        "retained": 2,
        "retention": {"max_messages": 1000, "max_age_seconds": None},
    }


def test_agents_lists_each_agent_with_its_subscriptions(redis_env: dict[str, str]) -> None:
    with Bus(settings_of(redis_env)) as bus:
        bus.register_agent("frank", channels=["#design", "#product"])
        bus.register_agent("gina")
    result = run_bus(redis_env, "agents")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "AGENT  SUBSCRIPTIONS",
        "frank  #all-hands, #design, #product",
        "gina   #all-hands",
    ]
    assert json_lines(run_bus(redis_env, "agents", "--json").stdout) == [
        {"name": "frank", "subscriptions": ["#all-hands", "#design", "#product"]},
        {"name": "gina", "subscriptions": ["#all-hands"]},
    ]


def test_agents_shows_the_workers_hosting_each_agent_and_when_they_were_last_seen(
    redis_env: dict[str, str],
) -> None:
    with Bus(settings_of(redis_env)) as bus:
        bus.register_agent("frank")
        bus.register_agent("gina")
        bus.register_agent("hugo")
        bus.store.liveness.beat("host-a/10/ab12", 60_000, ["frank", "gina"])
        bus.store.liveness.beat("host-b/20/cd34", 60_000, ["gina"])
        bus.store.liveness.beat("host-c/30/ef56", 60_000, ["hugo"])
        bus.store.liveness.stopped("host-c/30/ef56")
        seen = {w.worker: w.last_seen_ms for w in bus.store.liveness.workers()}
    result = run_bus(redis_env, "agents")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["AGENT", "SUBSCRIPTIONS", "WORKER", "LAST", "SEEN"]
    by_row = {row.split()[0]: row for row in rows}
    assert set(by_row) == {"frank", "gina", "hugo"}
    assert " host-a/10/ab12 " in by_row["frank"]
    assert " host-a/10/ab12, host-b/20/cd34 " in by_row["gina"]
    assert " host-c/30/ef56 (gone) " in by_row["hugo"]
    by_name = {
        row["name"]: row for row in json_lines(run_bus(redis_env, "agents", "--json").stdout)
    }
    assert by_name["hugo"]["workers"] == [
        {
            "worker": "host-c/30/ef56",
            "alive": False,
            "last_seen": datetime.fromtimestamp(seen["host-c/30/ef56"] / 1000, UTC).isoformat(),
        }
    ]
    assert [w["worker"] for w in by_name["gina"]["workers"]] == ["host-a/10/ab12", "host-b/20/cd34"]
    assert all(w["alive"] for w in by_name["gina"]["workers"])


def test_register_registers_every_agent_on_the_channels_in_one_command(
    redis_env: dict[str, str],
) -> None:
    with Bus(settings_of(redis_env)) as bus:
        bus.create_channel("#ops")
    for _ in range(2):  # idempotent
        result = run_bus(redis_env, "register", "hal", "ivy", "--channel", "#ops")
        assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "AGENT  SUBSCRIPTIONS",
        "hal    #all-hands, #ops",
        "ivy    #all-hands, #ops",
    ]
    unknown = run_bus(redis_env, "register", "hal", "--channel", "#nope")
    assert unknown.returncode == 2, unknown.stderr


# -- tail --------------------------------------------------------------------------------------


def test_tail_after_a_seq_prints_what_follows_it_and_stops_after_count(
    redis_env: dict[str, str],
) -> None:
    with Bus(settings_of(redis_env)) as bus:
        for n in range(1, 4):
            bus.publish("#watercooler", f"old {n}", sender="tester")
    result = run_bus(redis_env, "--json", "tail", "#watercooler", "--after", "1", "--count", "2")
    assert result.returncode == 0, result.stderr
    assert [(m["seq"], m["content"]) for m in json_lines(result.stdout)] == [
        (2, "old 2"),
        (3, "old 3"),
    ]


def test_tail_follows_new_messages_only_from_now(redis_env: dict[str, str]) -> None:
    with Bus(settings_of(redis_env)) as bus:
        bus.publish("#engineering", "before the tail", sender="tester")
        tail = Lines([*BUS, "tail", "#engineering", "--count", "1"], redis_env)
        try:
            deadline = time.monotonic() + 20
            while tail.process.poll() is None and time.monotonic() < deadline:
                bus.publish("#engineering", "while tailing", sender="tester")
                time.sleep(0.3)
            assert tail.process.wait(5) == 0
        finally:
            tail.stop()
    assert len(tail.lines) == 1, tail.lines
    assert tail.lines[0].endswith("tester [announcement]: while tailing")
    assert "  #1  " not in tail.lines[0]


def test_tail_exits_0_on_sigterm(redis_env: dict[str, str]) -> None:
    tail = Lines([*BUS, "tail", "#all-hands", "#incidents"], redis_env)
    try:
        # Connected and polling (its SIGTERM handler set) once it prints what is published.
        deadline = time.monotonic() + 60
        while True:
            run_bus(redis_env, "publish", "#incidents", "is anyone tailing?")
            try:
                tail.wait_for(lambda line: "is anyone tailing?" in line, 3, "the message")
                break
            except AssertionError:
                assert time.monotonic() < deadline, tail.lines
        assert tail.process.poll() is None, tail.lines
    finally:
        code = tail.stop()
    assert code == 0, tail.lines
    assert not any("Traceback" in line for line in tail.lines)


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("history", "#nope"), ("publish", "#nope", "hi"), ("tail", "#nope")],
    ids=" ".join,
)
def test_an_unknown_channel_is_one_line_and_exit_2(
    redis_env: dict[str, str], args: tuple[str, ...]
) -> None:
    assert_one_line_error(run_bus(redis_env, *args), 2, "no channel named '#nope'")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        pytest.param(("publish", "#engineering", "  "), ("content", "blank"), id="blank content"),
        pytest.param(
            ("publish", "#engineering", "hi", "--type", "Gossip!"),
            ("--type", "'Gossip!' is not a message type"),
            id="unknown type",
        ),
        pytest.param(("send", "nobody", "hi"), ("'nobody'",), id="unknown agent"),
        pytest.param(("publish", "engineering", "hi"), (), id="channel without #"),
        pytest.param(("history", "#design", "--limit", "-1"), ("--limit",), id="negative limit"),
        pytest.param(("history", "#design", "--since", "noon"), ("ISO 8601",), id="bad since"),
        pytest.param(("publish", "#design"), ("TEXT",), id="no text"),
        pytest.param(("frobnicate",), ("frobnicate",), id="unknown command"),
    ],
)
def test_malformed_input_is_one_line_and_exit_2(
    redis_env: dict[str, str], args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    assert_one_line_error(run_bus(redis_env, *args), 2, *fragments)


def test_invalid_settings_are_one_line_and_exit_2(redis_env: dict[str, str]) -> None:
    assert_one_line_error(
        run_bus({**redis_env, "BUS_NAMESPACE": "Not Valid"}, "channels"), 2, "BUS_NAMESPACE"
    )
    assert_one_line_error(
        run_bus({**redis_env, "BUS_BROKER_URL": "kafka://localhost"}, "channels"),
        2,
        "BUS_BROKER_URL",
    )
    amqp_without_store = {k: v for k, v in redis_env.items() if k != "BUS_STORE_URL"}
    amqp_without_store["BUS_BROKER_URL"] = "amqp://guest:guest@127.0.0.1:5672//"
    assert_one_line_error(run_bus(amqp_without_store, "health"), 2, "BUS_STORE_URL")


@pytest.mark.parametrize("args", [("publish", "#engineering", "hi"), ("channels",)], ids=" ".join)
@pytest.mark.parametrize(
    ("broker", "store", "shown"),
    [
        ("redis://:s3cret@127.0.0.1:1/0", None, "redis://:**@127.0.0.1:1/0"),
        ("amqp://guest:s3cret@127.0.0.1:1//", REDIS_URL, "amqp://guest:**@127.0.0.1:1//"),
    ],
    ids=["redis", "amqp"],
)
def test_an_unreachable_broker_fails_fast_naming_the_url_tried(
    redis_env: dict[str, str], broker: str, store: str | None, shown: str, args: tuple[str, ...]
) -> None:
    env = {**redis_env, "BUS_BROKER_URL": broker}
    env.pop("BUS_STORE_URL", None)
    if store:
        env["BUS_STORE_URL"] = store
    started = time.monotonic()
    line = assert_one_line_error(run_bus(env, *args), 1, "cannot reach", shown)
    assert time.monotonic() - started < 10
    assert "s3cret" not in line


# -- health ------------------------------------------------------------------------------------


def test_health_answers_0_when_broker_and_store_answer(broker_env: dict[str, str]) -> None:
    result = run_bus(broker_env, "health")
    assert result.returncode == 0, result.stdout + result.stderr
    broker, store = result.stdout.splitlines()
    assert broker.split()[:3] == [
        "broker",
        broker_env["BUS_BROKER_URL"].replace(":guest@", ":**@"),
        "ok",
    ]
    assert store.split()[:3] == ["store", broker_env.get("BUS_STORE_URL", REDIS_URL), "ok"]
    report = json.loads(run_bus(broker_env, "health", "--json").stdout)
    assert report["ok"] is True
    assert report["broker"]["ok"] is True
    assert report["store"]["ok"] is True


def test_health_answers_1_and_names_what_is_down(redis_env: dict[str, str]) -> None:
    env = {
        **redis_env,
        "BUS_BROKER_URL": "amqp://guest:pw@127.0.0.1:1//",
        "BUS_STORE_URL": REDIS_URL,
    }
    started = time.monotonic()
    result = run_bus(env, "--json", "health")
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["broker"]["url"] == "amqp://guest:**@127.0.0.1:1//"
    assert report["broker"]["error"]
    assert report["store"]["ok"] is True
    text = run_bus(env, "health")
    assert text.returncode == 1
    assert "UNREACHABLE" in text.stdout.splitlines()[0]
    assert "pw@" not in text.stdout


# -- help --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        (),
        ("publish",),
        ("send",),
        ("request",),
        ("tail",),
        ("history",),
        ("channels",),
        ("agents",),
        ("agents", "remove"),
        ("budgets",),
        ("circuit",),
        ("circuit", "reset"),
        ("run",),
        ("dlq",),
        ("dlq", "list"),
        ("dlq", "replay"),
        ("demo",),
        ("health",),
    ],
)
def test_every_command_has_help_with_examples(command: tuple[str, ...]) -> None:
    result = subprocess.run(
        [*BUS, *command, "--help"], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "usage: bus" in result.stdout
    assert "examples:" in result.stdout


def test_python_dash_m_bus_runs_the_same_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bus", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("usage: bus ")


def test_demo_says_so_when_no_worker_hosts_the_agents() -> None:
    # Celery's worker ping is answered by every worker on the broker, whatever its namespace:
    # a Redis database of its own keeps other tests' workers out of this one.
    require("redis")
    settings = settings_for("redis", broker_url=REDIS_URL.rsplit("/", 1)[0] + "/13")
    try:
        result = run_bus(cli_environment(settings), "demo", "--timeout", "5")
        assert result.returncode == 2, result.stdout + result.stderr
        assert "no worker answers" in result.stdout
    finally:
        Bus(settings).start().destroy()


# -- with a worker: request, dead letters ------------------------------------------------------


class Worker:
    """A ``celery -A bus worker`` subprocess and the environment of its bus."""

    def __init__(self, env: dict[str, str], output: Lines) -> None:
        self.env = env
        self.output = output


@pytest.fixture(scope="module", params=BROKERS)
def worker(request: pytest.FixtureRequest) -> Iterator[Worker]:
    """A worker hosting tests/helpers/echo_agents.py (echo, mute, broken), dead-lettering at
    the first failure; its namespace is deleted afterwards."""
    require(request.param)
    settings = settings_for(request.param)
    env = cli_environment(
        settings, BUS_AGENT_MODULES="tests.helpers.echo_agents", BUS_MAX_RETRIES="0"
    )
    command = worker_command(hostname=f"cli-{settings.namespace}@localhost")
    output = Lines(command, env)
    try:
        output.wait_for(lambda line: " ready." in line, 60, "the worker to be ready")
        yield Worker(env, output)
    finally:
        output.stop()
        Bus(settings).start().destroy()


def test_request_prints_the_agents_reply(worker: Worker) -> None:
    result = run_bus(worker.env, "request", "echo", "ping?", "--timeout", "20")
    assert (result.returncode, result.stdout, result.stderr) == (0, "echo: ping?\n", "")
    again = run_bus(worker.env, "--json", "request", "echo", "again", "--timeout", "20")
    reply = json.loads(again.stdout)
    assert (reply["sender"], reply["recipient"], reply["content"]) == ("echo", "cli", "echo: again")
    assert reply["correlation_id"]


def test_request_without_a_reply_times_out_with_exit_3(worker: Worker) -> None:
    started = time.monotonic()
    result = run_bus(worker.env, "request", "mute", "anyone?", "--timeout", "1")
    assert time.monotonic() - started < 15
    assert_one_line_error(result, 3, "'mute' did not reply within 1.0 s")


def test_dead_letters_are_listed_and_replayed(worker: Worker) -> None:
    sent = run_bus(worker.env, "--json", "send", "broken", "crash please")
    assert sent.returncode == 0, sent.stderr
    message_id = json.loads(sent.stdout)["id"]

    def letters() -> list[dict[str, Any]]:
        listed = json_lines(run_bus(worker.env, "--json", "dlq", "list").stdout)
        return [letter for letter in listed if letter["message"]["id"] == message_id]

    wait_until(lambda: len(letters()) == 1, 20, "the dead letter")
    [letter] = letters()
    assert (letter["agent"], letter["channel"], letter["attempts"]) == ("broken", None, 1)
    assert "crash please" in letter["error"]
    table = run_bus(worker.env, "dlq", "list").stdout.splitlines()
    assert table[0].split()[:3] == ["DEAD", "LETTER", "AGENT"]
    number = letter["dead_letter_seq"]
    replayed = run_bus(worker.env, "dlq", "replay", str(number))
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.startswith(f"replayed dead letter #{number}: broken gets DM #1 again")
    # its handler fails again, so the replay becomes a new dead letter of the same message
    wait_until(lambda: len(letters()) == 2, 20, "the replay's dead letter")
    assert_one_line_error(run_bus(worker.env, "dlq", "replay", "9999"), 2, "no dead letter #9999")


def test_the_worker_logs_each_handled_delivery_with_agent_channel_seq_and_message_id(
    worker: Worker,
) -> None:
    result = run_bus(worker.env, "--json", "request", "echo", "log me", "--timeout", "20")
    assert result.returncode == 0, result.stderr
    request_id = None
    with Bus(settings_of(worker.env)) as bus:
        request_id = next(
            str(m.id) for m in reversed(bus.direct_history("echo")) if m.content == "log me"
        )
    line = worker.output.wait_for(
        lambda text: f"message_id={request_id}" in text, 10, "the delivery's log line"
    )
    assert " echo handled DM #" in line
    assert "agent=echo channel=DM seq=" in line

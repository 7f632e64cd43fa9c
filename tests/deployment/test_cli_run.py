"""``bus run``: your own agent module, from outside the repository, hosted in one process on
memory:// and by a real ``celery -A bus worker`` on Redis and RabbitMQ, driven by --publish,
--send, --script and lines on standard input (issue 21)."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bus import Bus
from bus.settings import BusSettings
from bus.testing import environment_for
from tests.brokers import require, settings_for
from tests.helpers.cli_support import BUS, Lines, assert_one_line_error

pytestmark = pytest.mark.slow

AGENTS = """
from bus.worker import Agent

greeter = Agent("greeter", channels=["#engineering"])


@greeter.on_startup
async def open_client(state):
    state.greeted = 0


@greeter.on()
async def greet(message, ctx):
    ctx.state.greeted += 1
    await ctx.publish("#engineering", f"hello {message.sender} ({ctx.state.greeted})")


@greeter.on_direct()
async def answer(message, ctx):
    await ctx.reply(f"you said: {message.content}")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory outside the repository holding ``my_agents.py``."""
    (tmp_path / "my_agents.py").write_text(AGENTS)
    return tmp_path


def _bus_run(
    settings: BusSettings, cwd: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BUS, "run", *args],
        env=environment_for(settings),  # no PYTHONPATH: nothing of the checkout is needed
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _said(output: str) -> list[str]:
    """``sender [type]: content`` of each transcript line."""
    found = (re.search(r"#\d+\s+(\S+ \[[^\]]+\]: .*)$", line) for line in output.splitlines())
    return [match.group(1) for match in found if match is not None]


@pytest.fixture
def memory() -> BusSettings:
    return settings_for("memory")


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("amqp", marks=pytest.mark.amqp),
    ]
)
def broker(request: pytest.FixtureRequest) -> Iterator[BusSettings]:
    require(request.param)
    settings = settings_for(request.param)
    yield settings
    Bus(settings).start().destroy()


def test_a_file_outside_the_repo_is_hosted_in_process_and_driven_by_publish_and_send(
    memory: BusSettings, project: Path
) -> None:
    result = _bus_run(
        memory, project, "my_agents.py", "--publish", "#engineering=hi", "--send", "greeter=yo"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("bus run: greeter on memory:// (namespace ")
    # greeter is not handed its own post "hello cli (1)", or it would greet itself forever
    assert sorted(_said(result.stdout)) == sorted(
        [
            "cli [announcement]: hi",
            "cli [question]: yo",
            "greeter [announcement]: hello cli (1)",
            "greeter [question]: you said: yo",
        ]
    )
    assert result.stderr == ""


def test_lines_on_standard_input_publish_and_send_and_mistakes_are_one_line_each(
    memory: BusSettings, project: Path
) -> None:
    lines = "#engineering one\n@greeter two\n#enginering three\nfour\n"

    result = _bus_run(memory, project, str(project / "my_agents.py"), stdin=lines)

    assert result.returncode == 0, result.stderr
    assert "cli [announcement]: one" in _said(result.stdout)
    assert "greeter [question]: you said: two" in _said(result.stdout)
    assert result.stderr.splitlines() == [
        "bus: error: no channel named '#enginering'; did you mean '#engineering'?",
        "bus: error: 'four': a line is '#channel text' (publish) or '@agent text' (send)",
    ]


@pytest.mark.parametrize("kind", ["def", "async def"])
def test_a_script_hook_drives_the_agents(memory: BusSettings, project: Path, kind: str) -> None:
    awaited = "await " if kind == "async def" else ""
    (project / "scenario.py").write_text(
        textwrap.dedent(f"""
        {kind} main(bus):
            {awaited}bus.publish("#engineering", "from the script", sender="cli", type="task")
        """)
    )

    result = _bus_run(memory, project, "my_agents", "--script", "scenario.py", "--no-input")

    assert result.returncode == 0, result.stderr
    assert _said(result.stdout) == [
        "cli [task]: from the script",
        "greeter [announcement]: hello cli (1)",
    ]


def test_on_a_broker_a_real_worker_hosts_the_module(broker: BusSettings, project: Path) -> None:
    result = _bus_run(broker, project, "my_agents.py", "--send", "greeter=ping", "--no-input")

    assert result.returncode == 0, result.stderr
    assert _said(result.stdout) == ["cli [question]: ping", "greeter [question]: you said: ping"]
    with Bus(broker) as bus:  # the worker registered greeter; the sender is gone again
        assert bus.agents() == ["greeter"]


@pytest.mark.parametrize(
    ("module", "error"),
    [
        ("missing.py", "no Python file 'missing.py' (bus run MODULE)"),
        ("teem", "cannot import agent module 'teem' (bus run): No module named 'teem'"),
        ("broken.py", "agent module 'broken' (bus run) failed as it was imported: NameError"),
        ("empty.py", "agent module 'empty' defines no agent"),
    ],
)
def test_a_module_that_cannot_be_hosted_is_one_line_and_exit_2(
    memory: BusSettings, project: Path, module: str, error: str
) -> None:
    (project / "broken.py").write_text("undefined_name\n")
    (project / "empty.py").write_text("x = 1\n")

    assert_one_line_error(_bus_run(memory, project, module), 2, error)


def test_an_unknown_channel_in_publish_is_one_line_with_a_suggestion_and_exit_2(
    memory: BusSettings, project: Path
) -> None:
    result = _bus_run(memory, project, "my_agents.py", "--publish", "#enginering=hi")

    assert_one_line_error(result, 2, "no channel named '#enginering'; did you mean")


#: Runs its arguments with SIGINT ignored, as a non-interactive shell starts a background job
#: (the ignoring survives exec; Python then installs no Ctrl-C handler of its own).
IGNORING_CTRL_C = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.argv[1], sys.argv[1:])",
]


@pytest.mark.parametrize(
    ("stop", "launcher"),
    [(signal.SIGINT, []), (signal.SIGTERM, []), (signal.SIGINT, IGNORING_CTRL_C)],
    ids=["Ctrl-C", "SIGTERM", "Ctrl-C, started with it ignored"],
)
def test_ctrl_c_or_sigterm_stops_cleanly(
    memory: BusSettings, project: Path, stop: signal.Signals, launcher: list[str]
) -> None:
    running = Lines(
        [*launcher, *BUS, "run", "my_agents.py"],
        environment_for(memory),
        stdin=subprocess.PIPE,
        cwd=project,
    )
    try:
        running.wait_for(lambda line: line.startswith("bus run: greeter"), 60, "the header")
        running.process.send_signal(stop)
        code: int | None = None
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = running.process.wait(60)  # more than the embedded worker's stop (30 s) takes
    finally:
        running.stop()  # if the signal did not end it: SIGTERM to its group, then SIGKILL
    # The signal itself ended it; a stop that hung names where (the embedded worker logs its
    # threads' stacks).
    assert code == 0, f"exit code {code} after {stop.name}:\n" + "\n".join(running.lines)
    assert not any("did not stop" in line for line in running.lines), "\n".join(running.lines)
    assert not any("Traceback" in line for line in running.lines), running.lines

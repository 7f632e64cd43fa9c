"""The Procfile, run for real with honcho: a worker, Flower and a `bus tail`, driven by the CLI.

It runs as ``make fleet`` does: ``bus auth setup`` first, then honcho with the env file it wrote
(``BUS_AUTH=required``, the credentials, ``FLOWER_BASIC_AUTH``). One test, because the fleet
takes seconds to start: it proves that Flower refuses an anonymous request and answers with the
configured credentials, that the CLI cannot publish what the policy forbids, that the worker hosts
the demo company and handles what the CLI sends (a request answered, the whole demo story
played, the replies in history), that `watch` prints the traffic, that Flower's HTTP API lists
the deliveries as ``bus.deliver`` tasks that succeeded, that the worker's log lines are JSON
with agent, channel, seq and message id under ``BUS_LOG_FORMAT=json``, and that SIGTERM to
honcho stops every process it started, within a bounded time.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bus import Bus
from tests.brokers import REDIS_URL, require, settings_for
from tests.helpers.cli_support import ROOT, Lines, cli_environment, run_bus

pytestmark = [pytest.mark.slow, pytest.mark.redis]

_honcho = shutil.which("honcho", path=str(Path(sys.executable).parent))
HONCHO = [_honcho] if _honcho else [sys.executable, "-m", "honcho"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def left_in(session_ids: set[int]) -> list[str]:
    """The processes alive in any of ``session_ids``, as ``pid state command``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue  # it ended meanwhile
        state, _ppid, _group, session = stat[stat.rindex(")") + 2 :].split()[:4]
        if int(session) in session_ids and state != "Z":
            found.append(f"{entry.name} {state} {command}")
    return found


def settle(session_ids: set[int], timeout: float) -> list[str]:
    """Wait up to ``timeout`` s for the processes of ``session_ids`` to end; those left."""
    deadline = time.monotonic() + timeout
    while (left := left_in(session_ids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


FLOWER_USER = "admin:" + base64.urlsafe_b64encode(os.urandom(9)).decode()


def flower_get(port: int, path: str, credentials: str | None = FLOWER_USER) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if credentials is not None:
        token = base64.b64encode(credentials.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def flower_status(port: int, path: str, credentials: str | None) -> int:
    """The HTTP status Flower answers ``path`` with."""
    try:
        flower_get(port, path, credentials)
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def web_status(port: int, path: str) -> int:
    """The status of a GET of the console (redirects not followed)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines, as honcho reads them."""
    pairs = (line.partition("=") for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, _, value in pairs}


def eventually(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """``check()``'s first truthy result (exceptions count as not yet)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as exc:
            last = exc
        else:
            if result:
                return result
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def payload(line: str) -> str:
    """A honcho output line without its ``12:00:00 worker.1 | `` prefix."""
    return line.split(" | ", 1)[1] if " | " in line else line


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find leftover processes")
def test_the_procfile_fleet_handles_cli_messages_shows_them_in_flower_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    require("redis")
    assert REDIS_URL.startswith("redis://")
    settings = settings_for("redis")
    port, llm_port, web_port = free_port(), free_port(), free_port()
    env = cli_environment(
        settings,
        FLOWER_PORT=str(port),
        FLOWER_BASIC_AUTH=FLOWER_USER,
        LLM_PORT=str(llm_port),
        WEB_PORT=str(web_port),
        LLM_BASE_URL=f"http://127.0.0.1:{llm_port}",
        BUS_LOG_FORMAT="json",
    )
    # What `make credentials` runs: the credentials and the env file of the fleet.
    setup = run_bus(env, "auth", "setup", "--dir", str(tmp_path / "credentials"))
    assert setup.returncode == 0, setup.stderr
    auth_env = tmp_path / "credentials" / "auth.env"
    assert env_file(auth_env)["BUS_AUTH"] == "required"
    assert env_file(auth_env)["FLOWER_BASIC_AUTH"] == FLOWER_USER
    empty = tmp_path / "empty.env"  # a developer's .env must not override the test's settings
    empty.write_text("")
    honcho = Lines(
        [
            *HONCHO,
            "-f",
            str(ROOT / "Procfile"),
            "-e",
            f"{empty},{auth_env}",
            "--no-colour",
            "start",
        ],
        env,
    )
    env = {**env, **env_file(auth_env)}  # the CLI below acts as the fleet's operator
    session_ids = {honcho.process.pid}
    try:
        honcho.wait_for(lambda line: " ready." in line and "worker" in line, 60, "the worker")
        for line in honcho.lines:
            if launched := re.search(r"(\w+)\.\d+ started \(pid=(\d+)\)", line):
                session_ids.add(int(launched[2]))
        assert len(session_ids) == 6, honcho.lines  # honcho + worker, llm, flower, watch, web
        eventually(lambda: flower_get(port, "/api/workers?refresh=1"), 30, "Flower's API")
        assert flower_status(port, "/api/workers", None) == 401
        assert flower_status(port, "/api/workers", "admin:wrong") == 401
        assert flower_status(port, "/", None) == 401
        # The console: nothing without a login, whose secret is Flower's password.
        assert eventually(lambda: web_status(web_port, "/login"), 30, "the console") == 200
        assert web_status(web_port, "/") == 303
        assert web_status(web_port, "/c/_23all-hands/events") == 401

        refused = run_bus(env, "publish", "#all-hands", "I run this now", "--sender", "carol")
        assert refused.returncode != 0
        assert "PermissionDenied" in refused.stderr or "may not publish" in refused.stderr

        answer = run_bus(env, "request", "alice", "When will the API be ready?", "--timeout", "20")
        assert (answer.returncode, answer.stdout) == (0, "Friday, with tests.\n"), answer.stderr
        sent = run_bus(env, "--json", "send", "alice", "Anything blocking you?")
        assert sent.returncode == 0, sent.stderr
        sent_id, sent_seq = (json.loads(sent.stdout)[key] for key in ("id", "seq"))

        demo = run_bus(env, "demo", "--timeout", "60", timeout=90)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        history = run_bus(env, "--json", "history", "#code-review")
        approvals = [
            m for m in map(json.loads, history.stdout.splitlines()) if m["type"] == "approval"
        ]
        assert [m["sender"] for m in approvals] == ["carol"]
        honcho.wait_for(
            lambda line: (
                "watch.1" in line and "#code-review" in line and "carol [approval]" in line
            ),
            10,
            "the watch process to print carol's approval",
        )

        def handled_it(task: dict[str, Any]) -> bool:
            """A successful task of alice's inbox whose result lists the DM's seq as handled:
            the task the send woke, or, with coalesced deliveries, the task of a run still
            reading alice's inbox that handled the DM in its burst (a woken task that found it
            handled lists nothing)."""
            if task["state"] != "SUCCESS" or "'alice'" not in str(task.get("args")):
                return False
            listed = re.search(r"'handled': \[([0-9, ]*)\]", str(task.get("result")))
            seqs = [] if listed is None else listed.group(1).replace(" ", "").split(",")
            return str(sent_seq) in seqs

        def delivered() -> list[dict[str, Any]]:
            tasks = flower_get(port, "/api/tasks?limit=1000").values()
            return [t for t in tasks if handled_it(t)]

        [task] = eventually(delivered, 20, "Flower to list the delivery as a successful task")
        assert task["name"] == "bus.deliver"
        assert "'alice'" in task["args"]
        log = honcho.wait_for(
            lambda line: "worker.1" in line and f'"message_id": "{sent_id}"' in line,
            10,
            "the worker's JSON log line for the delivery",
        )
        entry = json.loads(payload(log))
        assert (entry["logger"], entry["agent"], entry["channel"]) == (
            "bus.delivery",
            "alice",
            None,
        )
        assert entry["seq"] >= 1
        assert entry["task_name"] == "bus.deliver"
    finally:
        started = time.monotonic()
        code = honcho.stop(timeout=20)
        leftovers = settle(session_ids, 10)
        for sid in session_ids:
            with contextlib.suppress(OSError):  # that group is gone, as it should be
                os.killpg(sid, signal.SIGKILL)
        Bus(settings).start().destroy()
    assert leftovers == [], f"processes left running after honcho stopped: {leftovers}"
    stopped_in = time.monotonic() - started
    assert stopped_in < 30, f"the fleet took {stopped_in:.1f} s to stop"
    assert code in (0, 143, -signal.SIGTERM), honcho.lines[-20:]
    for name in ("worker", "llm", "flower", "watch"):
        assert any(f"{name}.1 stopped" in line for line in honcho.lines), honcho.lines[-20:]

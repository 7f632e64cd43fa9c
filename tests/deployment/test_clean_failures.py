"""Settings that cannot work stop ``celery -A bus worker`` as they stop ``bus``: one line,
``bus: error: ...``, exit 2, no traceback (issue 21). Real subprocesses; no server is reached,
since the settings fail before anything connects."""

from __future__ import annotations

import subprocess

import pytest

from bus.settings import BusSettings
from bus.testing import celery_command, worker_command
from tests.helpers.cli_support import ROOT, assert_one_line_error, cli_environment, run_bus

pytestmark = pytest.mark.slow

CASES = [
    pytest.param(
        {"BUS_AGENT_MODULES": "teem"},
        "cannot import agent module 'teem' (BUS_AGENT_MODULES): No module named 'teem'",
        id="agent module not found",
    ),
    pytest.param(
        {"BUS_AGENT_MODULES": "tests.helpers.failing_agents"},
        "agent module 'tests.helpers.failing_agents' (BUS_AGENT_MODULES) failed as it was "
        "imported: RuntimeError: this agent module fails on import",
        id="agent module raises",
    ),
    pytest.param(
        {"BUS_MAX_RETRIES": "-3"},
        "invalid settings: BUS_MAX_RETRIES: Input should be greater than or equal to 0 (got '-3')",
        id="bad BUS_ value",
    ),
    pytest.param(
        {"BUS_BROKER_URL": "kafka://localhost"}, "BUS_BROKER_URL", id="unknown broker scheme"
    ),
]


def _environment(extra: dict[str, str]) -> dict[str, str]:
    return cli_environment(BusSettings(namespace="clean-failures"), **extra)


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("extra", "error"), CASES)
def test_a_worker_with_settings_that_cannot_work_prints_one_line_and_exits_2(
    extra: dict[str, str], error: str
) -> None:
    result = _run(worker_command(), _environment(extra))

    assert_one_line_error(result, 2, error)


@pytest.mark.parametrize(("extra", "error"), CASES[2:])
def test_the_worker_prints_the_line_the_cli_prints(extra: dict[str, str], error: str) -> None:
    env = _environment(extra)

    worker, cli = _run(worker_command(), env), run_bus(env, "channels")

    assert worker.stderr == cli.stderr
    assert cli.returncode == worker.returncode == 2


def test_flower_and_other_celery_commands_fail_the_same_way() -> None:
    result = _run(celery_command("bus", "inspect", "ping"), _environment({"BUS_MAX_RETRIES": "x"}))

    assert_one_line_error(result, 2, "BUS_MAX_RETRIES")

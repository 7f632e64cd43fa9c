"""Flower from the quick start: installed with bus, ``celery -A bus flower`` works, and
``bus flower`` either serves it behind basic auth or says in one line what is missing."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.brokers import require, settings_for
from tests.helpers.cli_support import (
    BUS,
    ROOT,
    Lines,
    assert_one_line_error,
    cli_environment,
    run_bus,
)

#: The installed ``celery`` script of this environment, as the quick start's reader runs it.
CELERY = str(Path(sys.executable).parent / "celery")
CREDENTIALS = "admin:" + base64.urlsafe_b64encode(os.urandom(9)).decode()


def _environment(transport: str, **extra: str) -> dict[str, str]:
    env = cli_environment(settings_for(transport), **extra)
    if "FLOWER_BASIC_AUTH" not in extra:
        env.pop("FLOWER_BASIC_AUTH", None)  # a developer's own must not make a test pass
    return env


def _without_flower(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` in which Flower is not installed, as Python's packaging sees it: a ``flower``
    distribution without entry points comes first on the path, and importlib.metadata takes
    the first distribution of a name, so Celery finds no ``flower`` command (as the
    newcomer's environment without Flower did)."""
    info = tmp_path / "site" / "flower-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: flower\nVersion: 0\n")
    path = [str(tmp_path / "site"), env.get("PYTHONPATH", "")]
    return env | {"PYTHONPATH": os.pathsep.join(filter(None, path))}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status(port: int, credentials: str | None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/workers")
    if credentials is not None:
        token = base64.b64encode(credentials.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_celery_dash_a_bus_flower_works_in_the_installed_environment() -> None:
    result = subprocess.run(
        [CELERY, "-A", "bus", "flower", "--help"],
        env=_environment("memory"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: celery flower" in result.stdout  # Flower's own help


def test_bus_flower_on_memory_says_flower_needs_the_workers_broker() -> None:
    result = run_bus(_environment("memory", FLOWER_BASIC_AUTH=CREDENTIALS), "flower")
    assert_one_line_error(result, 2, "memory://", "lives in one process", "BUS_BROKER_URL")


@pytest.mark.redis
def test_bus_flower_refuses_to_serve_without_basic_auth() -> None:
    require("redis")
    result = run_bus(_environment("redis"), "flower")
    assert_one_line_error(result, 2, "FLOWER_BASIC_AUTH=user:password")


@pytest.mark.redis
def test_without_flower_installed_celery_has_no_such_command_and_bus_flower_says_how_to_install(
    tmp_path: Path,
) -> None:
    require("redis")
    env = _without_flower(tmp_path, _environment("redis", FLOWER_BASIC_AUTH=CREDENTIALS))
    celery = subprocess.run(
        [CELERY, "-A", "bus", "flower", "--help"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert celery.returncode != 0
    assert "No such command 'flower'" in celery.stderr
    result = run_bus(env, "flower")
    assert_one_line_error(result, 2, "Flower is not installed", "pip install 'flower>=2'")


@pytest.mark.slow
@pytest.mark.redis
def test_bus_flower_serves_this_bus_on_loopback_behind_basic_auth() -> None:
    require("redis")
    port = _free_port()
    env = _environment("redis", FLOWER_BASIC_AUTH=CREDENTIALS)
    flower = Lines([*BUS, "flower", "--port", str(port)], env)
    try:
        flower.wait_for(lambda line: f"127.0.0.1:{port}" in line, 60, "Flower to listen")
        assert _status(port, None) == 401
        assert _status(port, "admin:wrong") == 401
        assert _status(port, CREDENTIALS) == 200
    finally:
        flower.stop()


def test_bus_flower_has_help_with_examples() -> None:
    result = subprocess.run(
        [*BUS, "flower", "--help"], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "FLOWER_BASIC_AUTH" in result.stdout
    assert "examples:" in result.stdout

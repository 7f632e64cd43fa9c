"""A real worker and a real Flower: Flower's HTTP API shows each delivery with its state, what it
carries (sender, type, channel) and, for a failure, the handler's own traceback.

It runs the per-message mode (``BUS_COALESCE_DELIVERIES=false``, decision 0006): a task per
message, each with its own state, is that mode's promise; coalesced deliveries (the default) show
one task per burst, and a message's own outcome is in ``bus status`` and its receipts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bus import Bus
from bus.settings import BusSettings
from bus.testing import celery_command
from tests.worker.harness import ROOT, WorkerProcess, wait_for, worker_environment

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tasks(port: int) -> dict[str, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tasks", timeout=2) as reply:
            return dict(json.load(reply))
    except OSError:
        return {}


def _deliveries(port: int) -> dict[str, str]:
    """``argsrepr -> state`` of the bus.deliver tasks Flower knows."""
    return {
        task["args"]: task["state"]
        for task in _tasks(port).values()
        if task.get("name") == "bus.deliver"
    }


@contextmanager
def _flower_and_worker(
    settings: BusSettings, tmp_path: Path
) -> Iterator[tuple[int, WorkerProcess]]:
    """A real Flower (its port) and a solo worker hosting ``rec-a`` and ``rec-b``, both ready."""
    port = _free_port()
    log = (tmp_path / "flower.log").open("wb")
    # Flower 2 serves its HTTP API only with authentication, or with this set (loopback here).
    env = {**worker_environment(settings), "FLOWER_UNAUTHENTICATED_API": "true"}
    flower = subprocess.Popen(
        celery_command("bus", "flower", f"--port={port}", "--address=127.0.0.1"),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = WorkerProcess(settings, pool="solo", log=tmp_path / "worker.log")
    try:
        worker.wait_ready()
        wait_for(lambda: _api_up(port), 30, "Flower's API", interval=0.5)
        yield port, worker
    finally:
        worker.stop()
        if flower.poll() is None:
            os.killpg(flower.pid, signal.SIGTERM)
            try:
                flower.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(flower.pid, signal.SIGKILL)
                flower.wait(5)
        log.close()


def _assert_kwargs_name_the_message(tasks: dict[str, dict[str, Any]]) -> None:
    """Each delivery says what it carries: its message's sender, type and channel."""
    for task in tasks.values():
        if task.get("name") == "bus.deliver":
            kwargs = task["kwargs"]
            assert "'sender': 'tester'" in kwargs, kwargs
            assert "'type': 'announcement'" in kwargs, kwargs
            assert "'channel': '#engineering'" in kwargs, kwargs


def test_flower_reports_each_delivery_with_its_state(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    # The old mode, which keeps this test: coalesced, one task could handle all three messages.
    broker_settings = broker_settings.model_copy(update={"coalesce_deliveries": False})
    with _flower_and_worker(broker_settings, tmp_path) as (port, worker):
        with Bus(broker_settings) as bus:
            wait_for(lambda: "#engineering" in bus.subscriptions("rec-a"), 30, "registration")
            for content in ("hello", "fail", "bye"):
                bus.publish("#engineering", content, sender="tester")
        expected = {
            "('rec-a', '#engineering', 1)": "SUCCESS",
            "('rec-a', '#engineering', 2)": "FAILURE",
            "('rec-a', '#engineering', 3)": "SUCCESS",
            "('rec-b', '#engineering', 2)": "FAILURE",
        }
        wait_for(
            lambda: all(_deliveries(port).get(args) == state for args, state in expected.items()),
            60,
            f"Flower to show {expected}",
            interval=0.5,
        )
        tasks = _tasks(port)
        failed = next(t for t in tasks.values() if t["args"] == "('rec-a', '#engineering', 2)")
        assert "refuses 'fail'" in failed["exception"]
        assert failed["worker"] == worker.name
        # The handler's own traceback, as the cause of the task's failure.
        assert "RuntimeError: rec-a refuses 'fail'" in failed["traceback"]
        assert "recorder_agents.py" in failed["traceback"]
        assert "direct cause" in failed["traceback"]
        _assert_kwargs_name_the_message(tasks)
        # Every delivery reaches Flower, though its last events may come after the states above.
        wait_for(
            lambda: (
                len({i for i, t in _tasks(port).items() if t.get("name") == "bus.deliver"}) >= 6
            ),
            30,
            "Flower to list all six deliveries",
            interval=0.5,
        )


def test_coalesced_flower_shows_a_task_per_burst_and_status_each_message(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    """The default (decision 0006): a burst that arrives while each member handles its first
    message wakes no task of its own; Flower lists one task per member, and ``Bus.status``
    says what became of every message, the failed one included."""
    assert broker_settings.coalesce_deliveries
    with _flower_and_worker(broker_settings, tmp_path) as (port, worker):
        with Bus(broker_settings) as bus:
            wait_for(lambda: "#engineering" in bus.subscriptions("rec-a"), 30, "registration")
            # Each member's run holds its stream for 2 s on the first: the rest is one burst.
            ids = [
                bus.publish("#engineering", content, sender="tester").id
                for content in ("sleep:2", "fail", "bye")
            ]
            states = ["handled", "dead_lettered", "handled"]
            wait_for(
                lambda: all(
                    bus.status(i).reached(state) for i, state in zip(ids, states, strict=True)
                ),
                60,
                f"every member's state to be {states}",
                interval=0.2,
            )
        expected = {
            "('rec-a', '#engineering', 1)": "SUCCESS",
            "('rec-b', '#engineering', 1)": "SUCCESS",
        }
        wait_for(
            lambda: _deliveries(port) == expected, 30, f"Flower to show {expected}", interval=0.5
        )
        tasks = _tasks(port)
        _assert_kwargs_name_the_message(tasks)
        for task in tasks.values():
            assert task["worker"] == worker.name
            assert "'status': 'handled'" in task["result"], task["result"]


def _api_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/workers", timeout=2):
            return True
    except OSError:
        return False

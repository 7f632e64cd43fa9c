"""The benchmark runs and reports (a tiny run: no timing is asserted, only that every figure
came out as a number with its unit)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from bench.cases.base import CaseArgs
from bench.cases.registry import PULL_SIDE, run_cases
from bench.common import Run
from tests.brokers import require
from tests.worker.harness import ROOT

EXPECTED = {"raw_kombu", "bus_pull", "raw_kombu_latency", "bus_latency"}


def run_smoke() -> list[dict[str, Any]]:
    """Raw Kombu, bus pull, both latencies and fan-out, tiny, on memory://: the figure records
    (a failed figure has an ``error`` instead of a value); no files written, no server."""
    figures: list[dict[str, Any]] = []
    args = CaseArgs(run=Run(n=200, quick=True), quick=True)
    run_cases("memory", args, figures.append, only=PULL_SIDE)
    return figures


@pytest.mark.memory
def test_the_pull_side_figures_come_out_as_numbers() -> None:
    figures = run_smoke()
    names = {figure["figure"] for figure in figures}
    stems = {name.rsplit("_p", 1)[0] for name in names}  # latency figures end in _p50/_p90/_p99
    assert names | stems >= EXPECTED
    bad = [
        figure
        for figure in figures
        if "error" in figure
        or not isinstance(figure["value"], int | float)
        or figure["value"] <= 0
        or not figure["unit"]
        or figure["transport"] != "memory"
    ]
    assert bad == []


@pytest.mark.slow
@pytest.mark.redis
def test_the_benchmark_command_reports_json_lines_and_a_table(tmp_path: object) -> None:
    require("redis")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--transports",
            "memory,redis",
            "--only",
            "bus_hosted,raw_celery",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    hosted = {f["transport"]: f for f in lines if f.get("figure") == "bus_hosted"}
    assert set(hosted) == {"memory", "redis"}
    assert all(f["unit"] == "deliveries/s" and f["value"] > 0 for f in hosted.values())
    assert "| bus_hosted / raw_celery (deliveries/s) |" in result.stdout

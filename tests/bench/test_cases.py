"""The case interface's records, the arithmetic every runtime case reports with (runs are
made up here: no timing is measured), and bench's one shape: every figure a case."""

from __future__ import annotations

from pathlib import Path

import bench
from bench.cases.base import Figure
from bench.cases.registry import CASES, NAMES
from bench.harness.runs import end_of, summarize

BENCH = Path(bench.__file__).resolve().parent


def test_a_figure_against_its_baseline_records_the_ratio() -> None:
    figure = Figure.against(
        "agents_20x0.2s_fixed_runs_per_s",
        9.0,
        "runs/s",
        "redis",
        n=200,
        baseline="limit N/L",
        baseline_value=100.0,
        target=0.8,
        extra={"agents": 20},
    )
    assert figure.record() == {
        "transport": "redis",
        "figure": "agents_20x0.2s_fixed_runs_per_s",
        "value": 9.0,
        "unit": "runs/s",
        "n": 200,
        "baseline": "limit N/L",
        "baseline_value": 100.0,
        "ratio": 0.09,
        "target": 0.8,
        "agents": 20,
    }


def test_a_failed_figure_records_its_error_and_no_value() -> None:
    record = Figure("agents", None, "", "amqp", error="TimeoutError()").record()
    assert record["value"] is None
    assert record["error"] == "TimeoutError()"


def test_ready_delay_counts_from_the_agents_previous_run_not_from_the_publish() -> None:
    # Two messages published at t=0 to one agent: the second could only start at t=1.0.
    runs = [("a", 1, 0.0, 0.1, 1.0), ("a", 2, 0.0, 1.2, 2.0), ("b", 1, 0.0, 0.0, 0.5)]
    summary = summarize(runs, t0=0.0, t_end=2.0, agents={"a"})
    assert summary.runs == 2
    assert summary.rate == 1.0
    assert summary.delay_p99 == 1200.0  # publish to start of the second
    assert round(summary.ready_p99, 6) == 200.0  # its agent was busy until 1.0


def test_runs_ending_after_the_budget_do_not_count() -> None:
    runs = [("a", 1, 0.0, 0.0, 1.0), ("a", 2, 0.0, 1.0, 5.0)]
    t_end = end_of(runs, expected=3, deadline=2.0, agents={"a"})
    assert t_end == 2.0
    assert summarize(runs, 0.0, t_end, {"a"}).runs == 1
    assert end_of(runs, expected=2, deadline=9.0, agents={"a"}) == 5.0


def test_the_runtime_and_auth_cases_are_registered_for_only() -> None:
    assert set(NAMES) >= {"agents", "isolation", "auth", "otel"}


def test_every_module_of_bench_cases_is_one_registered_case() -> None:
    interface = {"__init__", "base", "parts", "registry"}
    modules = {path.stem for path in (BENCH / "cases").glob("*.py")} - interface
    assert modules == {case.name for case in CASES}


def test_the_root_of_bench_holds_the_runner_and_its_outputs_not_figures() -> None:
    # Figures live in bench/cases, baselines in bench/baselines, what drives bus in
    # bench/harness (issue 16); results notes in docs/benchmarks, not in code folders.
    root = {path.stem for path in BENCH.glob("*.py")}
    assert root == {"__init__", "__main__", "common", "history", "profiling", "readme", "report"}
    notes = [path for path in BENCH.rglob("*.md") if "results" not in path.parts]
    assert notes == []  # bench/results/ is the run's own output, not committed

"""The case interface's records and the arithmetic every runtime case reports with (runs are
made up here: no timing is measured)."""

from __future__ import annotations

from bench.cases.base import Figure
from bench.cases.measure import end_of, summarize
from bench.cases.registry import NAMES


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


def test_the_runtime_cases_are_registered_for_only() -> None:
    assert set(NAMES) >= {"agents", "isolation"}

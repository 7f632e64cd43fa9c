"""A fast smoke run for tests: the ``--quick`` pull-side figures on memory:// only.

``run_smoke()`` returns the figure dicts (transport, figure, value, unit, n, ...); a failed
figure has an ``error`` key instead of a value. It writes no files and needs no server.
"""

from __future__ import annotations

from typing import Any

from bench.cases.base import CaseArgs
from bench.cases.registry import PULL_SIDE, run_cases
from bench.common import Run


def run_smoke() -> list[dict[str, Any]]:
    """Run raw Kombu, bus pull, both latencies and fan-out, tiny, on memory://."""
    figures: list[dict[str, Any]] = []
    args = CaseArgs(run=Run(n=200, quick=True), quick=True)
    run_cases("memory", args, figures.append, only=PULL_SIDE)
    return figures

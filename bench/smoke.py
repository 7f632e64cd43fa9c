"""A fast smoke run for tests: the ``--quick`` pull-side figures on memory:// only.

``run_smoke()`` returns the figure dicts (transport, figure, value, unit, n, ...); a failed
figure has an ``error`` key instead of a value. It writes no files and needs no server.
"""

from __future__ import annotations

from bench.common import Figure, Run
from bench.runner import PULL_SIDE, Plan, run_steps


def run_smoke() -> list[Figure]:
    """Run raw Kombu, bus pull, both latencies and fan-out, tiny, on memory://."""
    plan = Plan.make(None, True, None)
    figures: list[Figure] = []
    run_steps("memory", Run(n=plan.n, quick=True), plan, figures.append, only=PULL_SIDE)
    return figures

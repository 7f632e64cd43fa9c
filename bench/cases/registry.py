"""Which cases exist, and running them inside ``python -m bench``."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any

from bench.cases.agents import AgentsCase
from bench.cases.base import Case, CaseArgs, Figure
from bench.cases.isolation import IsolationCase
from bench.common import Run

#: Every case, in the order a run measures them.
CASES: tuple[Case, ...] = (AgentsCase(), IsolationCase())
#: Their names, as ``--only`` takes them.
NAMES = tuple(case.name for case in CASES)


def run_cases(
    transport: str,
    run: Run,
    quick: bool,
    emit: Callable[[dict[str, Any]], None],
    only: tuple[str, ...] | None = None,
) -> None:
    """Run each case (those in ``only``, if given) on ``transport``, emitting its figures'
    records, or one error record if the case itself fails."""
    args = CaseArgs(run=run, quick=quick)
    for case in CASES:
        if only is not None and case.name not in only:
            continue
        print(f"[bench] {transport}: {case.name} ...", file=sys.stderr, flush=True)
        try:
            figures = case.run(transport, args)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            figures = [Figure(case.name, None, "", transport, error=f"{type(exc).__name__}: {exc}")]
        for item in figures:
            emit(item.record())

"""Which cases exist, in which order a run measures them, and running them inside
``python -m bench``."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bench.cases import (
    console,
    fanout,
    latency,
    memory,
    pull,
    receipts,
    receipts_cost,
    replicas,
    scale,
    throughput,
)
from bench.cases.agents import AgentsCase
from bench.cases.auth import AuthCase
from bench.cases.base import Case, CaseArgs, Figure
from bench.cases.guards import GuardsCase
from bench.cases.isolation import IsolationCase
from bench.cases.otel import OtelCase
from bench.cases.parts import PartsCase
from bench.cases.peer import PeerCase
from bench.cases.sdk import SdkCase

#: Every case, in the order a run measures them (raw baselines next to the bus's figures).
CASES: tuple[Case, ...] = (
    pull.CASE,
    throughput.CASE,
    latency.CASE,
    fanout.CASE,
    PeerCase(),
    scale.CASE,
    memory.CASE,
    AgentsCase(),
    SdkCase(),
    IsolationCase(),
    AuthCase(),
    receipts.CASE,
    receipts_cost.CASE,
    OtelCase(),
    console.CASE,
    replicas.CASE,
    GuardsCase(),
)
#: Names ``--only`` takes: each case's, and each part's of a case with parts.
NAMES = tuple(
    dict.fromkeys(
        name
        for case in CASES
        for name in (case.name, *(case.part_names if isinstance(case, PartsCase) else ()))
    )
)
#: The pull-side parts: no worker, no subprocess (what ``tests/bench`` runs on memory://).
PULL_SIDE = ("raw_kombu", "bus_pull", "raw_kombu_latency", "bus_latency", "fanout")


def _selected(case: Case, only: tuple[str, ...] | None) -> tuple[bool, tuple[str, ...] | None]:
    """Whether ``case`` runs under ``--only``, and which of its parts."""
    if only is None or case.name in only:
        return True, None
    if isinstance(case, PartsCase):
        parts = tuple(part for part in case.part_names if part in only)
        return bool(parts), parts
    return False, None


def run_cases(
    transport: str,
    args: CaseArgs,
    emit: Callable[[dict[str, Any]], None],
    only: tuple[str, ...] | None = None,
) -> None:
    """Run each case (those in ``only``, or with a part in it, if given) on ``transport``,
    emitting its figures' records, or one error record if the case itself fails."""
    for case in CASES:
        wanted, parts = _selected(case, only)
        if not wanted:
            continue
        started = time.monotonic()
        print(f"[bench] {transport}: {case.name} ...", file=sys.stderr, flush=True)
        try:
            figures = case.run(transport, replace(args, parts=parts))
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            figures = [Figure(case.name, None, "", transport, error=f"{type(exc).__name__}: {exc}")]
        for item in figures:
            emit(item.record())
        print(
            f"[bench] {transport}: {case.name}: {len(figures)} figures in "
            f"{time.monotonic() - started:.1f} s",
            file=sys.stderr,
            flush=True,
        )

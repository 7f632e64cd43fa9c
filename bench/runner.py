"""Which figures a run measures, in which order, and how failures are recorded."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from bench import hosted, memory_rss, pull, raw_celery, raw_kombu, scale
from bench.common import Figure, Run


@dataclass(frozen=True)
class Plan:
    """Sizes of one run."""

    n: int
    quick: bool
    latency_samples: int
    mem_n: int
    mem_transports: tuple[str, ...]

    @classmethod
    def make(cls, n: int | None, quick: bool, mem_n: int | None) -> Plan:
        if quick:
            return cls(n or 200, True, 30, mem_n or 2000, ("memory", "redis"))
        return cls(n or 5000, False, 300, mem_n or 200_000, ("memory", "redis"))


Step = Callable[[str, Run, Plan], list[Figure]]


def _rss(transport: str, run: Run, plan: Plan) -> list[Figure]:
    if transport not in plan.mem_transports:
        return []
    # Redis publishes are ~5x slower than memory ones: a quarter of the messages keeps the
    # run's length bounded; the figure's n says how many were published.
    n = plan.mem_n if transport == "memory" else plan.mem_n // 4
    return memory_rss.run(transport, n, max(1, n // 10))


#: (name, step) in the order they run on each transport; raw and bus figures are adjacent.
STEPS: tuple[tuple[str, Step], ...] = (
    ("raw_kombu", lambda t, r, p: raw_kombu.throughput(t, r)),
    ("bus_pull", lambda t, r, p: pull.throughput(t, r)),
    ("raw_celery", lambda t, r, p: raw_celery.throughput(t, r)),
    ("bus_hosted", lambda t, r, p: hosted.throughput(t, r)),
    ("raw_kombu_latency", lambda t, r, p: raw_kombu.latency(t, r, p.latency_samples)),
    ("bus_latency", lambda t, r, p: pull.latency(t, r, p.latency_samples)),
    ("bus_hosted_latency", lambda t, r, p: hosted.latency(t, r, p.latency_samples)),
    ("fanout", lambda t, r, p: pull.fanout(t, r)),
    ("scale", lambda t, r, p: scale.run(t, r)),
    ("rss", _rss),
)

#: The pull-side figures: no worker, no subprocess (what :mod:`bench.smoke` runs).
PULL_SIDE = ("raw_kombu", "bus_pull", "raw_kombu_latency", "bus_latency", "fanout")


def run_steps(
    transport: str,
    run: Run,
    plan: Plan,
    emit: Callable[[Figure], None],
    only: tuple[str, ...] | None = None,
) -> None:
    """Run each step on ``transport``, emitting its figures, or an error figure if it fails."""
    for name, step in STEPS:
        if only is not None and name not in only:
            continue
        print(f"[bench] {transport}: {name} ...", file=sys.stderr, flush=True)
        try:
            results = step(transport, run, plan)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            results = [
                {
                    "transport": transport,
                    "figure": name,
                    "value": None,
                    "unit": None,
                    "n": run.n,
                    "error": f"{type(exc).__name__}: {exc}",
                }
            ]
        for item in results:
            emit(item)

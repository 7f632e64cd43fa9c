"""Case ``isolation``: does a slow agent hold back a fast one hosted by the same worker?

``iso-fast`` (instant handlers) and ``iso-slow`` (50 ms handlers) on ``#iso``, hosted by one
worker with default options; K messages published at once (10,000; quick 1,000). Measured
twice in the same run: ``iso-fast`` alone, then beside ``iso-slow``. Figures:

- ``isolation_fast_alone_runs_per_s``: its handler runs/s alone (first publish to its last run);
- ``isolation_fast_beside_slow_runs_per_s``: the same beside the slow agent (to its last run,
  or to the time budget), with its ratio to alone;
- ``isolation_fast_beside_slow_of_alone``: that ratio (target 0.8);
- ``isolation_slow_runs_per_s``: what the slow agent did meanwhile (its limit is 20/s).
"""

from __future__ import annotations

import sys
import time

from bench.cases.base import CaseArgs, Figure
from bench.harness.llm_worker import HostedWorker
from bench.harness.llm_workload import ISO_CHANNEL
from bench.harness.runs import Summary, end_of, summarize

TARGET = 0.8
FAST, SLOW = "iso-fast", "iso-slow"


class IsolationCase:
    """An instant agent's rate beside a 50 ms agent, as a ratio to its rate alone."""

    name = "isolation"
    group = "runtime"

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        """Alone, then beside the slow agent; see the module doc."""
        k = args.messages or (1000 if args.quick else 10_000)
        budget = args.seconds or (20.0 if args.quick else 60.0)
        try:
            alone, _ = self._phase(transport, args, "isoa", [FAST], k, budget)
            beside, slow = self._phase(transport, args, "isob", [FAST, SLOW], k, budget)
        except Exception as exc:
            return [
                Figure(
                    "isolation_fast_beside_slow_runs_per_s",
                    None,
                    "runs/s",
                    transport,
                    error=repr(exc),
                )
            ]
        detail = {"messages": k, "budget_s": budget, "slow_handler_ms": 50}
        ratio = beside.rate / alone.rate if alone.rate else 0.0
        return [
            Figure(
                "isolation_fast_alone_runs_per_s",
                alone.rate,
                "runs/s",
                transport,
                n=k,
                extra={**detail, "runs": alone.runs, "seconds": round(alone.seconds, 3)},
            ),
            Figure.against(
                "isolation_fast_beside_slow_runs_per_s",
                beside.rate,
                "runs/s",
                transport,
                n=k,
                baseline="isolation_fast_alone_runs_per_s",
                baseline_value=alone.rate,
                target=TARGET,
                extra={**detail, "runs": beside.runs, "seconds": round(beside.seconds, 3)},
            ),
            Figure(
                "isolation_fast_beside_slow_of_alone",
                ratio,
                "x alone",
                transport,
                n=k,
                target=TARGET,
            ),
            Figure(
                "isolation_slow_runs_per_s",
                slow.rate if slow else 0.0,
                "runs/s",
                transport,
                n=k,
                extra={"runs": slow.runs if slow else 0, "limit_runs_per_s": 20},
            ),
        ]

    def _phase(
        self, transport: str, args: CaseArgs, tag: str, agents: list[str], k: int, budget: float
    ) -> tuple[Summary, Summary | None]:
        print(f"[bench] {transport}: isolation {'+'.join(agents)} ...", file=sys.stderr, flush=True)
        with HostedWorker(transport, args.run.ns(tag), agents, ISO_CHANNEL) as worker:
            t0 = time.time()
            for index in range(k):
                worker.bus.publish(ISO_CHANNEL, f"m{index}", sender="bench")
            deadline = t0 + budget
            while time.time() < deadline:
                worker.check_alive()
                runs = worker.runs()
                if sum(1 for run in runs if run[0] == FAST) >= k:
                    break
                time.sleep(0.25)
            runs = worker.runs()
        t_end = end_of(runs, k, min(time.time(), deadline), {FAST})
        fast = summarize(runs, t0, t_end, {FAST})
        slow = summarize(runs, t0, t_end, {SLOW}) if SLOW in agents else None
        return fast, slow

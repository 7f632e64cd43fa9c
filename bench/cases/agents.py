"""Case ``agents``: the LLM-shaped workload (issue 9).

N agents on ``#llm``, each handler an ``async def`` awaiting the fake LLM through an
``httpx.AsyncClient``; ONE worker with default options hosts them all; M messages are
published at once on the channel (N x M handler runs). Each agent's stream is handled in order,
so at most N handlers are in flight: a perfect runtime takes as long as the agent whose M
latencies sum highest, and the limit is N x M over that (N / L for a fixed latency L). Requests
are keyed (agent, seq), so the fake LLM draws the same latencies for the hosted agents, for the
peer, and for this arithmetic. Figures per variant (``agents_<N>x<L>s_<fixed|heavy>_...``):

- ``runs_per_s`` and ``of_limit``: handler runs per second, first publish to last run (or to the
  time budget), and its ratio to the limit (target 0.8);
- ``rss_mb``: the worker's peak RSS, children included (on memory://, the whole bench process);
- ``delay_p50`` / ``delay_p99``: publish to handler start, ms (with ``ready_p50/p99``: from when
  the run could start, its agent's previous run done, to its start);
- ``llm_max_in_flight``: the most requests the fake LLM held at once (how many overlapped);
- ``peer_*``: the same agents on a plain asyncio loop in one process
  (:mod:`bench.baselines.asyncio_peer`), against the same fake LLM, in the same run;
  ``peer_raw_*`` the same with a bare HTTP/1.1 connection per agent instead of the shared httpx
  client (what the client itself costs);
- ``sleep_*`` and ``peer_sleep_*``: handlers that await a sleep as long as the fake LLM would
  take instead of calling it (the runtime alone, no client: target 0.95, issue 22).

Variants: N=20, L=0.2 s and N=200, L=1 s, each with a fixed latency and with a heavy-tailed one
(lognormal, median L, sigma 1, capped at 10 L).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench.cases.base import CaseArgs, Figure
from bench.common import ROOT
from bench.harness.llm_worker import HostedWorker, fake_llm, llm_stats
from bench.harness.llm_workload import (
    LLM_AGENTS,
    LLM_CHANNEL,
    SLEEP_MODE,
    request_key,
    sleep_spec,
)
from bench.harness.runs import RunRecord, Summary, end_of, summarize
from bus.demo.fake_llm import Latency
from bus.worker import Agent

TARGET = 0.8
#: Of the limit, with handlers awaiting a sleep (issue 22; FastStream on Redis lists: 0.98).
SLEEP_TARGET = 0.95
#: Seed of the fake LLM: with keyed requests, every run draws the same latencies.
SEED = 1


@dataclass(frozen=True)
class Sizes:
    """One run's size: messages per agent, time budget, the agents, and the limit (runs/s)."""

    m: int
    budget: float
    agents: list[str]
    limit: float

    @property
    def expected(self) -> int:
        return len(self.agents) * self.m


@dataclass(frozen=True)
class Variant:
    """One size of the workload."""

    agents: int
    latency: float
    heavy: bool

    @property
    def label(self) -> str:
        return f"agents_{self.agents}x{self.latency:g}s_{'heavy' if self.heavy else 'fixed'}"

    @property
    def distribution(self) -> Latency:
        if self.heavy:
            return Latency(self.latency, sigma=1.0, cap=10 * self.latency)
        return Latency(self.latency)

    def ideal_seconds(self, m: int) -> float:
        """How long a perfect runtime takes: the agent whose M latencies sum highest (each
        stream in order, every agent at once). ``m * L`` for a fixed latency."""
        latency = self.distribution
        return max(
            sum(latency.for_key(SEED, request_key(agent, seq)) for seq in range(1, m + 1))
            for agent in LLM_AGENTS[: self.agents]
        )

    def sizes(self, args: CaseArgs) -> Sizes:
        """What one run of this variant is given and measured against."""
        m = self.messages(args)
        ideal = self.ideal_seconds(m)
        # Room for a perfect runtime to finish: the budget bounds a slow one's run, not it.
        budget = args.seconds or max(15.0 if args.quick else 60.0, 1.5 * ideal + 2)
        return Sizes(m, budget, list(LLM_AGENTS[: self.agents]), self.agents * m / ideal)

    def messages(self, args: CaseArgs) -> int:
        if args.messages is not None:
            return args.messages
        small = self.agents <= 20
        return (10 if small else 3) if args.quick else (50 if small else 10)


VARIANTS = tuple(
    Variant(n, latency, heavy) for n, latency in ((20, 0.2), (200, 1.0)) for heavy in (False, True)
)


def _client_mode() -> str:
    if hasattr(Agent, "on_startup"):
        return "one client per worker process (on_startup), ctx.state.llm"
    return "a client per call (no on_startup: today's runtime runs each call on a new loop)"


class AgentsCase:
    """N LLM agents hosted by one default worker, beside the asyncio peer."""

    name = "agents"
    group = "runtime"

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        """Every variant on ``transport``; see the module doc."""
        figures: list[Figure] = []
        for variant in VARIANTS:
            print(f"[bench] {transport}: agents {variant.label} ...", file=sys.stderr, flush=True)
            try:
                figures += self._variant(transport, args, variant)
            except Exception as exc:
                figures.append(
                    Figure(
                        f"{variant.label}_runs_per_s", None, "runs/s", transport, error=repr(exc)
                    )
                )
        return figures

    def _variant(self, transport: str, args: CaseArgs, variant: Variant) -> list[Figure]:
        size = variant.sizes(args)
        m, budget, agents, limit = size.m, size.budget, size.agents, size.limit
        expected = size.expected
        namespace = args.run.ns(f"a{variant.agents}{'h' if variant.heavy else 'f'}")
        with fake_llm(variant.distribution, SEED) as url:
            hosted, rss, stats = self._hosted(transport, namespace, agents, url, m, budget)
            hosted_raw, raw_rss_hosted, _ = self._hosted(
                transport, namespace + "r", agents, url, m, budget, BENCH_LLM_CLIENT="raw"
            )
            peer, peer_rss = self._peer(variant, m, url, budget, "httpx")
            raw, raw_rss = self._peer(variant, m, url, budget, "raw")
            latency = variant.distribution
            spec = sleep_spec(latency.median, latency.sigma, latency.cap, SEED)
            hosted_sleep, sleep_rss, _ = self._hosted(
                transport,
                namespace + "s",
                agents,
                url,
                m,
                budget,
                BENCH_LLM_CLIENT=SLEEP_MODE,
                BENCH_SLEEP=spec,
            )
            peer_sleep, peer_sleep_rss = self._peer(variant, m, url, budget, SLEEP_MODE, spec)
        common = {
            "agents": variant.agents,
            "latency": variant.distribution.median,
            "sigma": variant.distribution.sigma,
            "messages": m,
            "budget_s": budget,
        }
        host = (
            "EmbeddedWorker defaults (threads, BUS_WORKER_CONCURRENCY)"
            if transport == "memory"
            else "one `celery -A bus worker`, no --pool/--concurrency"
        )
        figures = _rows(
            variant.label,
            transport,
            hosted,
            limit,
            expected,
            rss,
            worker=host,
            client=_client_mode(),
            llm_max_in_flight=stats["max_in_flight"],
            **common,
        )
        figures.append(
            Figure(
                f"{variant.label}_llm_max_in_flight",
                stats["max_in_flight"],
                "requests",
                transport,
                n=expected,
                extra=common,
            )
        )
        figures += _rows(
            f"{variant.label}_raw_client",
            transport,
            hosted_raw,
            limit,
            expected,
            raw_rss_hosted,
            worker=f"{host}; a bare HTTP/1.1 connection per agent instead of httpx",
            **common,
        )[:2]
        figures += _rows(
            f"{variant.label}_peer",
            transport,
            peer,
            limit,
            expected,
            peer_rss,
            worker="asyncio peer: one process, a queue and a task per agent",
            **common,
        )
        figures += _rows(
            f"{variant.label}_peer_raw",
            transport,
            raw,
            limit,
            expected,
            raw_rss,
            worker="asyncio peer, a bare HTTP/1.1 connection per agent instead of httpx",
            **common,
        )[:2]
        figures += _rows(
            f"{variant.label}_sleep",
            transport,
            hosted_sleep,
            limit,
            expected,
            sleep_rss,
            target=SLEEP_TARGET,
            worker=f"{host}; handlers await a sleep as long as the LLM would take",
            **common,
        )[:2]
        figures += _rows(
            f"{variant.label}_peer_sleep",
            transport,
            peer_sleep,
            limit,
            expected,
            peer_sleep_rss,
            worker="asyncio peer, handlers awaiting a sleep as long as the LLM would take",
            **common,
        )[:2]
        return figures

    def _hosted(
        self,
        transport: str,
        namespace: str,
        agents: list[str],
        url: str,
        m: int,
        budget: float,
        **env: str,
    ) -> tuple[Summary, float, dict[str, Any]]:
        """Publish ``m`` questions to the hosted agents; wait for every run or the budget."""
        with HostedWorker(
            transport, namespace, agents, LLM_CHANNEL, LLM_BASE_URL=url, **env
        ) as worker:
            t0 = time.time()
            for index in range(m):
                worker.bus.publish(
                    LLM_CHANNEL, f"question {index}", sender="bench", type="question"
                )
            expected, deadline, rss = len(agents) * m, t0 + budget, worker.rss_mb()
            while time.time() < deadline and worker.count() < expected:
                worker.check_alive()
                rss = max(rss, worker.rss_mb())
                time.sleep(0.25)
            runs = worker.runs()
            t_end = end_of(runs, expected, min(time.time(), deadline), set(agents))
            stats = llm_stats(url)
        return summarize(runs, t0, t_end, set(agents)), rss, stats

    def _peer(
        self, variant: Variant, m: int, url: str, budget: float, client: str, sleep: str = ""
    ) -> tuple[Summary, float]:
        command = [
            sys.executable,
            "-m",
            "bench.baselines.asyncio_peer",
            "--agents",
            str(variant.agents),
        ]
        command += ["--client", client] + (["--sleep", sleep] if sleep else [])
        command += ["--messages", str(m), "--url", url, "--seconds", str(budget)]
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=budget + 60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"the asyncio peer failed: {done.stderr[-800:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        runs: list[RunRecord] = [
            (str(a), int(seq), float(sent), float(start), float(end))
            for a, seq, sent, start, end in result["runs"]
        ]
        agents = set(LLM_AGENTS[: variant.agents])
        return summarize(runs, result["t0"], result["t_end"], agents), float(result["rss_mb"])


def _rows(
    label: str,
    transport: str,
    summary: Summary,
    limit: float,
    expected: int,
    rss: float,
    target: float = TARGET,
    **extra: object,
) -> list[Figure]:
    detail = {
        **extra,
        "runs": summary.runs,
        "expected_runs": expected,
        "seconds": round(summary.seconds, 3),
        "complete": summary.runs >= expected,
    }
    ratio = summary.rate / limit
    return [
        Figure.against(
            f"{label}_runs_per_s",
            summary.rate,
            "runs/s",
            transport,
            n=expected,
            baseline="limit: N x M / slowest agent's summed latencies (N/L if fixed)",
            baseline_value=limit,
            target=target,
            extra=detail,
        ),
        Figure(
            f"{label}_of_limit",
            ratio,
            "x limit",
            transport,
            n=expected,
            target=target,
            extra={"limit_runs_per_s": round(limit, 2)},
        ),
        Figure(
            f"{label}_rss_mb",
            rss,
            "MB",
            transport,
            n=expected,
            target=300.0 if "200x" in label else None,
        ),
        *(
            Figure(
                f"{label}_delay_{tail}",
                delay if summary.runs else None,
                "ms",
                transport,
                n=summary.runs,
                error=None if summary.runs else "no handler run ended within the budget",
                extra={f"ready_{tail}_ms": round(ready, 3)},
            )
            for tail, delay, ready in (
                ("p50", summary.delay_p50, summary.ready_p50),
                ("p99", summary.delay_p99, summary.ready_p99),
            )
        ),
    ]

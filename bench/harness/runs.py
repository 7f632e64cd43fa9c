"""Turning recorded handler runs into rates and delays (shared by the cases and the peer)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.common import percentile

#: One handler run: (agent, seq, published at, started at, ended at), wall-clock seconds.
RunRecord = tuple[str, int, float, float, float]


@dataclass(frozen=True)
class Summary:
    """What a set of runs between ``t0`` and ``t_end`` shows."""

    runs: int
    seconds: float
    rate: float
    #: Publish to handler start, ms: includes waiting behind the agent's earlier messages.
    delay_p50: float
    delay_p99: float
    #: From when the handler could start (published, and the agent's previous run of the same
    #: stream ended) to its start, ms: the runtime's own scheduling delay.
    ready_p50: float
    ready_p99: float


def summarize(runs: list[RunRecord], t0: float, t_end: float, agents: set[str]) -> Summary:
    """Rate and delays of the runs of ``agents`` that ended by ``t_end``."""
    done = [run for run in runs if run[0] in agents and run[4] <= t_end + 1e-6]
    delays = [(started - sent) * 1000 for _, _, sent, started, _ in done] or [0.0]
    ready: list[float] = []
    last_end: dict[str, float] = {}
    for agent, _seq, sent, started, ended in sorted(done, key=lambda run: (run[0], run[1])):
        ready.append((started - max(sent, last_end.get(agent, 0.0))) * 1000)
        last_end[agent] = ended
    ready = ready or [0.0]
    seconds = max(t_end - t0, 1e-9)
    return Summary(
        runs=len(done),
        seconds=seconds,
        rate=len(done) / seconds,
        delay_p50=percentile(delays, 0.5),
        delay_p99=percentile(delays, 0.99),
        ready_p50=percentile(ready, 0.5),
        ready_p99=percentile(ready, 0.99),
    )


def end_of(runs: list[RunRecord], expected: int, deadline: float, agents: set[str]) -> float:
    """When the measurement ended: the last run's end if all ``expected`` runs of ``agents``
    are in, else the deadline."""
    mine = [run[4] for run in runs if run[0] in agents]
    return max(mine) if len(mine) >= expected else deadline

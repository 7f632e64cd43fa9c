"""Case ``peer`` (memory:// only): bus against the in-process asyncio peer
(:mod:`bench.baselines.asyncio_bus`, a queue per subscriber) on the same workloads, measured
alternately ``repeat`` times in the same run: publish → receive throughput (2 agents, as
``bus_pull``), latency (one message at a time, as ``bus_latency``: p50 and p99) and fan-out to 10
and 100 subscribers (as ``fanout``). Figures ``peer_asyncio_<what>`` and ``peer_bus_<what>``,
the bus's with its ratio to the peer's (throughput: the issue asks at least 0.5; latency: the
ratio is how many times longer bus takes)."""

from __future__ import annotations

from dataclasses import replace

from bench.baselines import asyncio_bus
from bench.cases.base import CaseArgs, Figure, paired_figures
from bench.cases.fanout import fanout
from bench.cases.latency import bus_latency, samples
from bench.cases.pull import bus_pull

#: Fan-out sizes measured (the 1-subscriber figure is ``fanout``'s own baseline).
SIZES = (10, 100)
#: The figure with a target (issue 22): bus's publish → receive throughput, at least half the
#: peer's.
THROUGHPUT, THROUGHPUT_TARGET = "peer_bus_pull_deliveries_per_s", 0.5


class PeerCase:
    """See the module doc."""

    name = "peer"
    group = "peer"

    def __init__(self, repeat: int = 3) -> None:
        self.repeat = repeat

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        if transport != "memory":
            return []  # the peer lives in one process: it is set against memory:// only
        run, count = args.run, samples(args)
        units = {"pull_deliveries_per_s": "deliveries/s"}
        units |= {f"fanout_{size}_deliveries_per_s": "deliveries/s" for size in SIZES}
        units |= {"latency_p50_ms": "ms", "latency_p99_ms": "ms"}
        taken: dict[tuple[str, str], list[float]] = {}

        def note(what: str, mode: str, value: float) -> None:
            taken.setdefault((what, mode), []).append(value)

        for _ in range(self.repeat):
            note("pull_deliveries_per_s", "asyncio", asyncio_bus.pull(run.n))
            for size in SIZES:
                rate = asyncio_bus.fanout(max(10, 2 * run.n // size), size)
                note(f"fanout_{size}_deliveries_per_s", "asyncio", rate)
            peer_latency = asyncio_bus.latency(count)
            note("latency_p50_ms", "asyncio", peer_latency["p50"])
            note("latency_p99_ms", "asyncio", peer_latency["p99"])

            note("pull_deliveries_per_s", "bus", bus_pull(transport, run)[0]["value"])
            for record in fanout(transport, run, SIZES):
                if record["figure"].endswith("_deliveries_per_s"):
                    note(record["figure"], "bus", record["value"])
            for record in bus_latency(transport, run, count):
                if record["figure"] in ("bus_latency_p50", "bus_latency_p99"):
                    note(
                        record["figure"].replace("bus_latency", "latency") + "_ms",
                        "bus",
                        record["value"],
                    )
        figures = paired_figures(
            taken, units, ("asyncio", "bus"), "peer", transport, n=run.n, repeat=self.repeat
        )
        return [
            replace(item, target=THROUGHPUT_TARGET) if item.name == THROUGHPUT else item
            for item in figures
        ]

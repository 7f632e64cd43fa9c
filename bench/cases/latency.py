"""Case ``latency``: publish-to-receive latency, one message at a time: plain Kombu
(``raw_kombu_latency``), bus pull (``bus_latency``: the publish call to ``receive`` returning in
another thread) and publish-to-handler-start of an agent a solo worker hosts
(``bus_hosted_latency``, p50 with p90 and p99 beside it), each with the settings a new user
gets. Targets: ``bus_latency_p50`` at most 0.3 ms on memory:// and 1.5 ms on the brokers
(issue 22), ``bus_hosted_latency`` at most 2 ms on the brokers (issue 12)."""

from __future__ import annotations

import queue
import threading
import time
from functools import partial

from bench.baselines import raw_kombu
from bench.cases.base import CaseArgs
from bench.cases.parts import Compare, PartsCase, Target
from bench.common import Record, Run, figure, payload, percentile
from bench.harness import solo_agents, solo_worker
from bench.harness.pulling import buses


def samples(args: CaseArgs) -> int:
    """Messages per latency figure."""
    return args.messages or (30 if args.quick else 300)


def bus_latency(transport: str, run: Run, samples: int) -> list[Record]:
    """Publish one message at a time; publish call to ``receive`` returning."""
    with buses(transport, run.ns("lat"), 1) as (main, readers):
        main.create_channel("#latency")
        main.register_agent("listener", channels=["#latency"])
        arrivals: queue.Queue[float] = queue.Queue()
        stop = threading.Event()

        def listen() -> None:
            while not stop.is_set():
                if readers[0].receive("listener", timeout=0.5) is not None:
                    arrivals.put(time.perf_counter())

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        try:
            values: list[float] = []
            for index in range(samples + 5):
                start = time.perf_counter()
                main.publish("#latency", payload(), sender="bench")
                arrived = arrivals.get(timeout=30)
                if index >= 5:
                    values.append((arrived - start) * 1000)
        finally:
            stop.set()
            thread.join(5)
    return [
        figure(transport, f"bus_latency_{name}", percentile(values, q), "ms", samples)
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
    ]


def hosted_latency(transport: str, run: Run, samples: int = 300) -> list[Record]:
    """Publish-to-handler-start latency, one message at a time."""
    namespace = run.ns("hostlat")
    settings = solo_worker.settings_for(transport, namespace)
    progress = solo_worker.Progress(transport, f"{namespace}:hostlat")
    progress.expect(-1)
    waits: list[float] = []
    try:
        with solo_worker.running(transport, settings, progress.key, -1) as bus:
            text = payload()
            for index in range(solo_worker.WARM + samples):
                start = time.time()
                seq = bus.publish(solo_agents.LATENCY_CHANNEL, text, sender="bench").seq
                assert seq is not None
                began = solo_worker.wait_for(
                    partial(progress.started, seq), 30, f"handler of #{seq}"
                )
                if index >= solo_worker.WARM:
                    waits.append((began - start) * 1000)
    finally:
        progress.close()
    return [
        figure(
            transport,
            "bus_hosted_latency",
            percentile(waits, 0.5),
            "ms",
            samples,
            p90=round(percentile(waits, 0.9), 3),
            p99=round(percentile(waits, 0.99), 3),
        )
    ]


CASE = PartsCase(
    "latency",
    "latency",
    (
        ("raw_kombu_latency", lambda t, a: raw_kombu.latency(t, a.run, samples(a))),
        ("bus_latency", lambda t, a: bus_latency(t, a.run, samples(a))),
        ("bus_hosted_latency", lambda t, a: hosted_latency(t, a.run, samples(a))),
    ),
    compare=(Compare("bus_latency_p50", "raw_kombu_latency_p50"),),
    targets=(
        Target("bus_latency_p50", {"memory": 0.3, "redis": 1.5, "amqp": 1.5}),
        Target("bus_hosted_latency", {"redis": 2.0, "amqp": 2.0}),
    ),
)

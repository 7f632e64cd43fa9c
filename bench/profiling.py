"""A tool, not a figure: where the time of bus's pull and hosted paths goes, one transport at a
time.

- ``python -m bench.profiling --transport memory --n 2000``: pyinstrument profiles (``pip
  install pyinstrument``) of ``n`` publishes to a channel with one member, then of receiving
  them all, in one thread.
- ``python -m bench.profiling --hosted --transport redis --n 3000``: a backlog of ``n``
  messages to the two agents of ``bench.harness.solo_agents`` (``2n`` deliveries), then a
  worker in this process (pool solo, as ``bus_hosted``) drains it: deliveries per second and
  this process's CPU time per delivery. No publisher runs beside it, so it is the worker's own
  cost; CPU time close to the wall time means the worker is CPU-bound.

It is not a ``--profile`` option of ``python -m bench`` because a case measures across threads
and processes (receiving threads, worker subprocesses), and a sampling profiler of the calling
thread would show only the publisher's side of it; here publish and receive run in the one
thread profiled."""

from __future__ import annotations

import argparse
import time

from bench.common import bus_settings, new_namespace, payload
from bus import Bus, Retention


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description=__doc__)
    parser.add_argument("--transport", default="memory")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--hosted", action="store_true", help="drain a backlog with a worker")
    args = parser.parse_args()
    if args.hosted:
        hosted(args.transport, args.n)
    else:
        pull(args.transport, args.n)


def pull(transport: str, n: int) -> None:
    """Profiles of ``n`` publishes, then of ``n`` receives, in this thread."""
    from pyinstrument import Profiler

    bus = Bus(bus_settings(transport, new_namespace("benchprof"))).start()
    try:
        bus.create_channel("#prof", retention=Retention(max_messages=n + 10))
        bus.register_agent("reader", channels=["#prof"])
        bus.publish("#prof", payload(), sender="bench")
        bus.receive("reader", timeout=5)
        for label in ("publish", "receive"):
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(n):
                if label == "publish":
                    bus.publish("#prof", payload(), sender="bench")
                elif bus.receive("reader", timeout=5) is None:
                    raise TimeoutError("receive returned nothing")
            profiler.stop()
            print(f"===== {label} x {n} on {transport}")
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        while bus.receive("reader", timeout=0.2) is not None:  # stale deliveries, if any
            pass
    finally:
        bus.destroy()


def hosted(transport: str, n: int) -> None:
    """A backlog of ``n`` messages to two hosted agents, drained by a worker in this process."""
    from bench.harness import solo_agents, solo_worker
    from bus.broker.celery_app import create_app
    from bus.worker import EmbeddedWorker, install, load_agents

    settings = solo_worker.settings_for(transport, new_namespace("benchdrain"), keep=2 * n + 100)
    with Bus(settings) as bus:
        for channel in solo_worker.CHANNELS:
            bus.create_channel(channel)
        for agent in ("agent-1", "agent-2"):
            bus.register_agent(agent, channels=[solo_agents.THROUGHPUT_CHANNEL])
        bus.register_agent("listener", channels=[solo_agents.LATENCY_CHANNEL])
        text = payload()
        for _ in range(n):
            bus.publish(solo_agents.THROUGHPUT_CHANNEL, text, sender="bench")
    solo_agents.LOCAL.reset(2 * n)
    app = create_app(settings)
    install(app, settings, load_agents(settings.agent_modules))
    started, cpu = time.perf_counter(), time.process_time()
    with Bus(settings, app=app) as bus, EmbeddedWorker(app, pool="solo", concurrency=1):
        if not solo_agents.LOCAL.done.wait(120 + n / 20):
            raise TimeoutError(f"handled {solo_agents.LOCAL.count} of {2 * n} deliveries")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        bus.destroy()
    deliveries = 2 * n
    print(
        f"{transport}: {deliveries} deliveries drained in {seconds:.3f} s "
        f"({deliveries / seconds:,.0f}/s, worker start included); CPU {cpu:.3f} s "
        f"({cpu / deliveries * 1e6:.0f} us a delivery, {cpu / seconds:.2f} of a core)"
    )


if __name__ == "__main__":
    main()

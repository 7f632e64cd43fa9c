"""A tool, not a figure: profile the bus pull path with pyinstrument (``pip install
pyinstrument``): ``python -m bench.profiling --transport memory --n 2000``. Publishes ``n`` to a
channel with one member, then receives them all, in one thread, and prints both profiles.

It is not a ``--profile`` option of ``python -m bench`` because a case measures across threads
and processes (receiving threads, worker subprocesses), and a sampling profiler of the calling
thread would show only the publisher's side of it; here publish and receive run in the one
thread profiled."""

from __future__ import annotations

import argparse

from bench.common import bus_settings, new_namespace, payload
from bus import Bus, Retention


def main() -> None:
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description=__doc__)
    parser.add_argument("--transport", default="memory")
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    bus = Bus(bus_settings(args.transport, new_namespace("benchprof"))).start()
    try:
        bus.create_channel("#prof", retention=Retention(max_messages=args.n + 10))
        bus.register_agent("reader", channels=["#prof"])
        bus.publish("#prof", payload(), sender="bench")
        bus.receive("reader", timeout=5)
        for label in ("publish", "receive"):
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(args.n):
                if label == "publish":
                    bus.publish("#prof", payload(), sender="bench")
                elif bus.receive("reader", timeout=5) is None:
                    raise TimeoutError("receive returned nothing")
            profiler.stop()
            print(f"===== {label} x {args.n} on {args.transport}")
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        while bus.receive("reader", timeout=0.2) is not None:  # stale deliveries, if any
            pass
    finally:
        bus.destroy()


if __name__ == "__main__":
    main()

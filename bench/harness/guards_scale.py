"""The guards' cost on a large Redis channel, code against code in one run:
``python -m bench.harness.guards_scale [--rounds 5] [--members 1000] [ROOT ...]``.

Each ROOT is a directory holding a ``bus`` package (``git archive <commit> bus | tar -x -C
ROOT``; none: this checkout). For each round, each ROOT and each mode (``off``: every guard 0;
``mp0``: ``BUS_MAX_PENDING=0``; ``defaults``; ``own``: the defaults, and a member with its own
limits), a fresh process registers the members of one
channel, publishes twice (each member then has a delivery outstanding: later publishes are
the append alone, coalesced) and times 5 x 20 publishes: ms per publish (the median of the 5),
wall and the process's CPU. The table is the median over the rounds, and the best.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

MODES: dict[str, dict[str, int]] = {
    "off": {"max_hops": 0, "pair_rate": 0, "max_pending": 0},
    "mp0": {"max_pending": 0},
    "defaults": {},
    "own": {},  # the defaults, and one member with limits of its own (AgentLimits)
}


def measure(mode: str, members: int, publishes: int = 20) -> dict[str, float | str]:
    """One process's figures (see the module doc), and where its bus package is."""
    import bus as package
    from bus import Bus
    from bus.testing import settings_for

    settings = settings_for(
        "redis",
        namespace="gs-" + uuid.uuid4().hex[:10],
        default_channels=(),
        coalesce_deliveries=True,
        **MODES[mode],
    )
    bus = Bus(settings).start()
    try:
        bus.create_channel("#wide")
        bus.register_agents({f"s{index}": ["#wide"] for index in range(members)})
        if mode == "own":
            from bus.worker import AgentLimits

            bus.store.guards.set_limits("s0", AgentLimits(max_pending=1_000_000))
        for _ in range(2):
            bus.publish("#wide", "x" * 200, sender="bench")
        walls, cpus = [], []
        for _ in range(5):
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(publishes):
                bus.publish("#wide", "x" * 200, sender="bench")
            walls.append((time.perf_counter() - wall) / publishes * 1000)
            cpus.append((time.process_time() - cpu) / publishes * 1000)
        return {
            "wall": statistics.median(walls),
            "cpu": statistics.median(cpus),
            "bus": str(Path(package.__file__).parent),
        }
    finally:
        bus.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="*", help="directories holding a bus package")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a mode, in a child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.members)))
        return
    roots = args.roots or [str(Path(__file__).resolve().parents[2])]
    found: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(args.rounds):
        for root in roots:
            for mode in MODES:
                child = [sys.executable, "-m", "bench.harness.guards_scale", "--one", mode]
                here = str(Path(__file__).resolve().parents[2])
                env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, here])}
                done = subprocess.run(
                    [*child, "--members", str(args.members)],
                    env=env,
                    cwd=root,  # first on the child's path: its bus is root's
                    capture_output=True,
                    text=True,
                    check=True,
                )
                figures = json.loads(done.stdout)
                assert Path(figures.pop("bus")).resolve().is_relative_to(Path(root).resolve())
                found.setdefault((root, mode), []).append(figures)
    print("| mode | code | wall ms | cpu ms | best wall ms |\n| --- | --- | --- | --- | --- |")
    for mode in MODES:
        for root in roots:
            runs = found[(root, mode)]
            wall = statistics.median(run["wall"] for run in runs)
            cpu = statistics.median(run["cpu"] for run in runs)
            best = min(run["wall"] for run in runs)
            print(f"| {mode} | {root} | {wall:.2f} | {cpu:.2f} | {best:.2f} |")


if __name__ == "__main__":
    main()

"""Figure 6: resident memory of a process publishing many messages to a channel with
retention 1,000, sampled as it goes. Runs as its own process, so the RSS is its own:
``python -m bench.memory_rss --transport memory --n 200000 --every 20000 --mode history``.

Modes: ``history`` has no subscriber (only the retained log grows, then is trimmed);
``drain`` has one subscriber that receives everything, 100 messages at a time, in this
process (a subscriber that never received would grow the broker's queue instead, which is
not the bus's retention).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench.common import Figure, bus_settings, figure, new_namespace, payload, sweep_redis
from bus import Bus, Retention

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100


def rss_mb() -> float:
    """This process's VmRSS in MB (from /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(transport: str, n: int, every: int, mode: str) -> list[tuple[int, float]]:
    """Publish ``n`` messages, sampling RSS every ``every``; returns (published, MB) pairs."""
    namespace = new_namespace("benchrss")
    bus = Bus(bus_settings(transport, namespace)).start()
    samples: list[tuple[int, float]] = []
    try:
        bus.create_channel("#rss", retention=Retention(max_messages=1000))
        if mode == "drain":
            bus.register_agent("reader", channels=["#rss"])
        content = payload()
        for index in range(1, n + 1):
            bus.publish("#rss", content, sender="bench")
            if mode == "drain" and index % BATCH == 0:
                for _ in range(BATCH):
                    if bus.receive("reader", timeout=10) is None:
                        raise TimeoutError(f"reader got nothing after {index} publishes")
            if index % every == 0:
                samples.append((index, round(rss_mb(), 2)))
    finally:
        bus.destroy()
        if transport != "memory":
            sweep_redis(namespace)
    return samples


def run(transport: str, n: int, every: int) -> list[Figure]:
    """Both modes, each in a subprocess; one figure per mode (growth from first to last
    sample, in MB) with the samples attached."""
    figures: list[Figure] = []
    for mode in ("history", "drain"):
        command = [
            sys.executable,
            "-m",
            "bench.memory_rss",
            "--transport",
            transport,
            "--n",
            str(n),
            "--every",
            str(every),
            "--mode",
            mode,
        ]
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=60 + n / 50, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"memory_rss {mode} failed: {done.stderr[-800:]}")
        samples = json.loads(done.stdout.strip().splitlines()[-1])["samples"]
        growth = samples[-1][1] - samples[0][1]
        what = (
            "no subscriber: history only"
            if mode == "history"
            else "one subscriber receiving everything"
        )
        figures.append(
            figure(
                transport,
                f"rss_growth_{mode}",
                growth,
                "MB",
                n,
                samples=samples,
                mode=what,
                retention=1000,
                first_sample_at=samples[0][0],
                target_mb=30,
                within_target=growth <= 30,
            )
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transport", default="memory")
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--every", type=int, default=20_000)
    parser.add_argument("--mode", choices=("history", "drain"), default="history")
    args = parser.parse_args()
    samples = measure(args.transport, args.n, args.every, args.mode)
    print(json.dumps({"samples": samples}))


if __name__ == "__main__":
    main()

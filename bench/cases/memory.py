"""Case ``memory``: the RSS of a process publishing many messages through a channel with
retention 1,000 (``rss_growth_*``, memory:// and Redis), and the Redis store's bytes per
retained message (``store_bytes_per_message``): ``MEMORY USAGE`` of a channel's log after N
appends, over N, with the ``INFO memory`` delta beside it (which also holds the one member's
queued task messages, and whatever the shared server's other clients did meanwhile).

The RSS is measured in a process of its own, so it is that process's:
``python -m bench.cases.memory --transport memory --n 200000 --every 20000 --mode history``
publishes and prints its samples. Modes: ``history`` has no subscriber (only the retained log
grows, then is trimmed); ``drain`` has one subscriber that receives everything, 100 messages at
a time, in that process (a subscriber that never received would grow the broker's queue
instead, which is not the bus's retention).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import redis

from bench.cases.base import CaseArgs
from bench.cases.parts import PartsCase
from bench.common import (
    REDIS_URL,
    ROOT,
    Record,
    bus_settings,
    figure,
    new_namespace,
    payload,
    sweep_redis,
)
from bus import Bus, Retention
from bus.channels import Stream
from bus.store.redis.key_names import Keys

BATCH = 100


def _rss(transport: str, args: CaseArgs) -> list[Record]:
    if transport not in ("memory", "redis"):
        return []
    n = args.mem_messages or (2000 if args.quick else 200_000)
    # Redis publishes are ~5x slower than memory ones: a quarter of the messages keeps the
    # run's length bounded; the figure's n says how many were published.
    n = n if transport == "memory" else n // 4
    return rss_growth(transport, n, max(1, n // 10))


def _store_bytes(transport: str, args: CaseArgs) -> list[Record]:
    if transport != "redis":
        return []  # memory://: in-process, the RSS figure covers it; amqp: the same Redis store
    n = 200 if args.quick else 10_000
    namespace = args.run.ns("storemem")
    client = redis.Redis.from_url(REDIS_URL)
    bus = Bus(bus_settings(transport, namespace)).start()
    try:
        bus.create_channel("#mem", retention=Retention(max_messages=n))
        bus.register_agent("reader", channels=["#mem"])
        key = Keys(namespace).log(Stream.of_channel("#mem").id)
        content = payload()
        before = int(client.info("memory")["used_memory"])
        for _ in range(n):
            bus.publish("#mem", content, sender="bench")
        after = int(client.info("memory")["used_memory"])
        usage = int(client.memory_usage(key, samples=0) or 0)
    finally:
        bus.destroy()
        client.close()
    return [
        figure(
            transport,
            "store_bytes_per_message",
            usage / n,
            "B",
            n,
            content_bytes=len(content),
            info_delta_bytes_per_message=round((after - before) / n, 1),
        )
    ]


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


def rss_growth(transport: str, n: int, every: int) -> list[Record]:
    """Both modes, each in a subprocess; one figure per mode (growth from first to last
    sample, in MB) with the samples attached."""
    figures: list[Record] = []
    for mode in ("history", "drain"):
        command = [
            sys.executable,
            "-m",
            "bench.cases.memory",
            "--transport",
            transport,
            "--n",
            str(n),
            "--every",
            str(every),
            "--mode",
            mode,
        ]
        # A flood from one sender is what this case measures, not an agent gone astray: the
        # per-(sender, channel) circuit (BUS_PAIR_RATE, docs/safety.md) would cut it after its
        # burst, so it is off for this process alone.
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60 + n / 50,
            check=False,
            env=dict(os.environ, BUS_PAIR_RATE="0"),
        )
        if done.returncode != 0:
            raise RuntimeError(f"the RSS process ({mode}) failed: {done.stderr[-800:]}")
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


CASE = PartsCase(
    "memory",
    "memory",
    (("rss", _rss), ("store_bytes", _store_bytes)),
)


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

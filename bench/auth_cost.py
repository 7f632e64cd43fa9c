"""The cost of ``BUS_AUTH=required`` (signing, verifying, permission checks, the publish quota),
side by side with auth off, in one run:

    python -m bench.auth_cost [--transports memory,redis] [--n 2000] [--repeat 3]

Per transport and mode (``off``, ``required``): ``publish`` (messages/s posted by one bus to a
channel with one member), ``pull`` (messages/s that one agent then drains with ``receive``) and
``hosted`` (deliveries/s handled by a worker hosting 2 agents, pool solo, as ``bench.hosted``
measures them), each also per CPU second (``*_per_cpu_s``: of this process for publish and
pull, of the worker process for hosted, of this whole process on memory://), which load from
other processes on a shared machine disturbs much less than the rates. With auth required
the quota is on (a rate no run reaches, so every publish pays its token-bucket step) and the
worker signs nothing but verifies every message. One JSON
line per figure, then a table of the medians with the ratio required/off. The modes alternate
``--repeat`` times (off, required, off, required, ...), so that load from other processes on a
shared machine falls on both alike.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench import hosted
from bench.common import bus_settings, new_namespace, payload, unreachable
from bench.hosted_agents import THROUGHPUT_CHANNEL
from bus import Bus
from bus.auth import admin
from bus.auth.keypairs import RootKey
from bus.auth.storage import open_auth_store
from bus.settings import BusSettings
from bus.settings.transports import resolve_store_url

AGENTS = ("agent-1", "agent-2", "listener")


@contextlib.contextmanager
def auth_for(settings: BusSettings, mode: str) -> Iterator[BusSettings]:
    """``settings`` with auth ``mode``; for ``required``, credentials made in a temporary
    directory (the operator ``bench``, and the hosted agents), also exported to the
    environment a worker subprocess inherits."""
    if mode == "off":
        yield settings
        return
    root = RootKey.generate()
    url = resolve_store_url(settings.broker_url, settings.store_url)
    store = open_auth_store(url, settings.namespace)
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        (folder / "agents").mkdir()
        admin.issue_credentials(root, store, "bench", role="operator", path=folder / "bench.json")
        for name in AGENTS:
            admin.issue_credentials(root, store, name, path=folder / "agents" / f"{name}.json")
        variables = {
            "BUS_AUTH": "required",
            "BUS_ROOT_PUBLIC_KEY": root.public_key_b64,
            "BUS_CREDENTIALS": str(folder / "bench.json"),
            "BUS_CREDENTIALS_DIR": str(folder / "agents"),
            "BUS_PUBLISH_RATE": "1000000",
            "BUS_PUBLISH_BURST": "1000000",
        }
        saved = {key: os.environ.get(key) for key in variables}
        os.environ.update(variables)
        try:
            yield settings.model_copy(
                update={
                    "auth": "required",
                    "root_public_key": root.public_key_b64,
                    "credentials": variables["BUS_CREDENTIALS"],
                    "credentials_dir": variables["BUS_CREDENTIALS_DIR"],
                    "publish_rate": 1_000_000.0,
                    "publish_burst": 1_000_000,
                }
            )
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            store.destroy()
            store.close()


def _children_cpu() -> float:
    """CPU seconds (user + system) used so far by this process's child processes (a worker)."""
    total = 0
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def publish_and_pull(transport: str, mode: str, n: int) -> dict[str, float]:
    """Messages per second, and per CPU second of this process, published to a channel with
    one member, then drained by it."""
    settings = bus_settings(transport, new_namespace("authp"), retention_max_messages=n + 10)
    with auth_for(settings, mode) as settings, Bus(settings) as bus:
        bus.create_channel("#bench")
        bus.register_agent("agent-1", channels=["#bench"])
        text = payload()
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            bus.publish("#bench", text, sender="bench")
        published, published_cpu = time.perf_counter() - start, time.process_time() - cpu
        reader = bus if transport == "memory" else Bus(settings).start()
        try:
            start, cpu, got = time.perf_counter(), time.process_time(), 0
            while got < n and reader.receive("agent-1", timeout=10) is not None:
                got += 1
            pulled, pulled_cpu = time.perf_counter() - start, time.process_time() - cpu
        finally:
            if reader is not bus:
                reader.stop()
        if got != n:
            raise RuntimeError(f"pull with auth {mode}: {got} of {n} received")
        bus.destroy()
    return {
        "publish": n / published,
        "publish_per_cpu_s": n / published_cpu,
        "pull": n / pulled,
        "pull_per_cpu_s": n / pulled_cpu,
    }


def hosted_deliveries(transport: str, mode: str, n: int) -> dict[str, float]:
    """Deliveries per second handled by a worker hosting 2 agents (as ``bench.hosted``), and
    per CPU second of the worker process (memory://: of this process, publisher included)."""
    namespace = new_namespace("authh")
    settings = hosted._settings(transport, namespace, keep=max(1000, 2 * (n + hosted.WARM)))
    progress = hosted._Progress(transport, f"{namespace}:hosted")
    total = 2 * (hosted.WARM + n)
    progress.expect(total)
    cpu = time.process_time if transport == "memory" else _children_cpu
    try:
        with (
            auth_for(settings, mode) as settings,
            hosted._hosted(transport, settings, progress.key, total) as bus,
        ):
            text = payload()
            for _ in range(hosted.WARM):
                bus.publish(THROUGHPUT_CHANNEL, text, sender="bench")
            start, used = time.time(), cpu()
            for _ in range(n):
                bus.publish(THROUGHPUT_CHANNEL, text, sender="bench")
            done_at = hosted._wait(progress.done_at, 120 + n / 20, f"{total} deliveries")
            used = cpu() - used
    finally:
        progress.close()
    return {"hosted": 2 * n / (done_at - start), "hosted_per_cpu_s": 2 * n / used}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.auth_cost", description=__doc__)
    parser.add_argument("--transports", default="memory,redis")
    parser.add_argument("--n", type=int, default=2000, help="messages per figure")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each mode (median)")
    args = parser.parse_args(argv)
    samples: dict[tuple[str, str, str], list[float]] = {}
    for transport in [name for name in args.transports.split(",") if name]:
        if (reason := unreachable(transport)) is not None:
            print(f"skipping {transport}: {reason}", file=sys.stderr)
            continue
        for attempt in range(args.repeat):
            for mode in ("off", "required"):
                print(f"{transport}, auth {mode}, run {attempt + 1}", file=sys.stderr, flush=True)
                figures = publish_and_pull(transport, mode, args.n)
                figures.update(hosted_deliveries(transport, mode, args.n))
                for name, value in figures.items():
                    samples.setdefault((transport, name, mode), []).append(value)
                    row = {"transport": transport, "auth": mode, "figure": name, "run": attempt}
                    print(json.dumps({**row, "n": args.n, "per_s": round(value, 1)}), flush=True)
    print(f"\nmedians of {args.repeat} runs of {args.n} messages each")
    print("\n| transport | figure | auth off /s | auth required /s | required / off |")
    print("|---|---|---:|---:|---:|")
    for (transport, name, mode), values in samples.items():
        if mode != "off":
            continue
        off = statistics.median(values)
        on = statistics.median(samples[(transport, name, "required")])
        print(f"| {transport} | {name} | {off:.0f} | {on:.0f} | {on / off:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

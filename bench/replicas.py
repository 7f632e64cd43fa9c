"""``python -m bench.replicas [--n 400] [--rounds 5]``: what ``BUS_STORE_MIN_REPLICAS=1`` costs a
publish, against 0, side by side on one private Redis master with one replica (loopback).

It starts ``redis-server`` twice on free ports (a master, and a replica of it; no persistence),
then publishes ``n`` messages per round to a channel in each mode, alternating the modes for
``rounds`` rounds, and prints one JSON line per mode (p50 and p99 of a publish, in ms, and
publishes per second) and the ratio of the p50s. The servers are killed at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from bench.common import figure, new_namespace, percentile
from bus import Bus
from bus.settings import BusSettings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server(folder: Path, port: int, *options: str) -> subprocess.Popen[bytes]:
    folder.mkdir()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    command += ["--save", "", "--appendonly", "no", *options]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def _wait(check: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if callable(check) and check():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def _round(bus: Bus, n: int) -> list[float]:
    samples = []
    for index in range(n):
        began = time.perf_counter()
        bus.publish("#bench", f"message {index}", sender="bench")
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--n", type=int, default=400, help="publishes per mode and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each mode, alternated")
    args = parser.parse_args(argv)
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not on the PATH")
    folder = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    master_port, replica_port = _free_port(), _free_port()
    servers = [_server(folder / "master", master_port)]
    try:
        servers.append(
            _server(folder / "replica", replica_port, "--replicaof", "127.0.0.1", str(master_port))
        )
        replica = redis.Redis(port=replica_port)
        _wait(lambda: replica.info("replication")["master_link_status"] == "up", "the replica")
        replica.close()
        url, namespace = f"redis://127.0.0.1:{master_port}/0", new_namespace("replicas")
        buses = {
            wanted: Bus(
                BusSettings(
                    broker_url=url,
                    namespace=namespace,
                    default_channels=("#bench",),
                    store_min_replicas=wanted,
                )
            ).start()
            for wanted in (0, 1)
        }
        samples: dict[int, list[float]] = {0: [], 1: []}
        for bus in buses.values():
            _round(bus, 50)  # warm up: scripts loaded, connections open
        for _ in range(args.rounds):
            for wanted, bus in buses.items():
                samples[wanted] += _round(bus, args.n)
        for bus in buses.values():
            bus.stop()
        p50 = {wanted: percentile(found, 0.5) for wanted, found in samples.items()}
        for wanted, found in samples.items():
            print(
                json.dumps(
                    figure(
                        "redis",
                        f"publish_min_replicas_{wanted}",
                        p50[wanted],
                        "ms",
                        len(found),
                        p99_ms=round(percentile(found, 0.99), 3),
                        per_second=round(len(found) / (sum(found) / 1000), 1),
                    )
                )
            )
        print(f"p50 publish, MIN_REPLICAS=1 / MIN_REPLICAS=0: {p50[1] / p50[0]:.2f}")
    finally:
        for server in servers:
            server.kill()
            server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

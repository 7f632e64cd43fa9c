"""Case ``replicas``: what ``BUS_STORE_MIN_REPLICAS=1`` costs a publish, against 0 (issue 20),
side by side on one private Redis master with one replica on loopback.

Redis only (``--transports redis``; other transports have no replicas: no figure). It starts
``redis-server`` twice on free ports (a master and its replica, no persistence), publishes
``n`` messages per round to a channel with one bus per mode, alternating the modes round by
round, and reports the p50 of a publish with 1 replica asked against the p50 with none (p99
and publishes per second beside). The servers are killed at the end.
``python -m bench --only replicas --transports redis``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from bench.cases.base import CaseArgs, Figure
from bench.common import percentile
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


def _synced(port: int, timeout: float = 20.0) -> None:
    """Wait until the replica on ``port`` has its master's link up."""
    replica = redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                if replica.info("replication").get("master_link_status") == "up":
                    return
            except redis.RedisError:
                pass
            time.sleep(0.05)
    finally:
        replica.close()
    raise RuntimeError(f"the replica on port {port} did not sync within {timeout} s")


def _round(bus: Bus, n: int) -> list[float]:
    samples = []
    for index in range(n):
        began = time.perf_counter()
        bus.publish("#bench", f"message {index}", sender="bench")
        samples.append((time.perf_counter() - began) * 1000)
    return samples


class ReplicasCase:
    """Publishes with ``BUS_STORE_MIN_REPLICAS`` 1 and 0, alternated, on a master and replica."""

    name = "replicas"
    group = "replicas"

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        if transport != "redis":
            return []
        if shutil.which("redis-server") is None:
            return [Figure(self.name, None, "ms", transport, error="no redis-server on PATH")]
        n, rounds = (50, 2) if args.quick else (args.messages or 400, 5)
        folder = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
        master_port, replica_port = _free_port(), _free_port()
        servers = [_server(folder / "master", master_port)]
        try:
            replicaof = ("--replicaof", "127.0.0.1", str(master_port))
            servers.append(_server(folder / "replica", replica_port, *replicaof))
            _synced(replica_port)
            samples = self._measure(f"redis://127.0.0.1:{master_port}/0", args, n, rounds)
        finally:
            for server in servers:
                server.kill()
                server.wait(10)
            shutil.rmtree(folder, ignore_errors=True)
        p50 = {wanted: percentile(found, 0.5) for wanted, found in samples.items()}

        def extra(wanted: int) -> dict[str, float]:
            found = samples[wanted]
            per_second = len(found) / (sum(found) / 1000)
            return {"p99_ms": round(percentile(found, 0.99), 3), "per_s": round(per_second, 1)}

        return [
            Figure.against(
                "publish_p50_ms_min_replicas_1",
                p50[1],
                "ms",
                transport,
                baseline="publish_p50_ms_min_replicas_0",
                baseline_value=p50[0],
                n=len(samples[1]),
                extra={**extra(1), "min_replicas_0": extra(0), "rounds": rounds},
            )
        ]

    def _measure(self, url: str, args: CaseArgs, n: int, rounds: int) -> dict[int, list[float]]:
        namespace = args.run.ns("replicas")
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
        try:
            for bus in buses.values():
                _round(bus, 20)  # warm up: scripts loaded, connections open
            for _ in range(rounds):
                for wanted, bus in buses.items():
                    samples[wanted] += _round(bus, n)
        finally:
            for bus in buses.values():
                bus.stop()
        return samples


CASE = ReplicasCase()

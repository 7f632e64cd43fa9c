"""A Redis master, its replica and three sentinels of the test's own, on free loopback ports.

The sentinels notice a dead master after ``down_after_ms`` and promote the replica (a quorum
of 2 of 3). :attr:`SentinelGroup.url` is the ``sentinel://...;sentinel://...`` URL bus takes
(with ``BUS_SENTINEL_MASTER`` = :data:`MASTER`), for the broker and the store alike.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, cast

import redis

from tests.support.process import end_process_group, free_port, wait_until
from tests.support.redis_server import RedisServer

#: The master's name in the sentinels' configuration.
MASTER = "bus-ha"


class SentinelGroup:
    """One master, one replica, three sentinels; :meth:`close` ends them all."""

    def __init__(self, directory: Path | None = None, *, down_after_ms: int = 1000) -> None:
        self._owns = directory is None
        self.directory = (
            Path(tempfile.mkdtemp(prefix="bus-ha-")) if directory is None else directory
        )
        for name in ("master", "replica"):
            (self.directory / name).mkdir(parents=True, exist_ok=True)
        self.master = RedisServer(self.directory / "master")
        self.replica = RedisServer(
            self.directory / "replica",
            options=("--replicaof", "127.0.0.1", str(self.master.port)),
        )
        self.down_after_ms = down_after_ms
        self.sentinel_ports = [free_port() for _ in range(3)]
        self._sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """The sentinels, as bus (and kombu) take them."""
        return ";".join(f"sentinel://127.0.0.1:{port}/0" for port in self.sentinel_ports)

    def start(self, timeout: float = 20.0) -> SentinelGroup:
        """Start the servers, wait for the replica's link, then the sentinels' agreement."""
        self.master.start()
        self.replica.start()
        replica = self.replica.client()
        try:
            wait_until(
                lambda: replica.info("replication").get("master_link_status") == "up",
                timeout,
                "the replica to sync",
            )
        finally:
            replica.close()
        for index, port in enumerate(self.sentinel_ports):
            folder = self.directory / f"sentinel{index}"
            folder.mkdir(exist_ok=True)
            config = folder / "sentinel.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {folder}\n"
                f"logfile {folder / 'sentinel.log'}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {MASTER} {self.down_after_ms}\n"
                f"sentinel failover-timeout {MASTER} 3000\n"
                f"sentinel parallel-syncs {MASTER} 1\n"
            )
            self._sentinels.append(
                subprocess.Popen(
                    [shutil.which("redis-server") or "redis-server", str(config), "--sentinel"],
                    cwd=folder,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        wait_until(self._watched, timeout, "every sentinel to see the master, replica and peers")
        return self

    def _sentinel(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2)

    def _watched(self) -> bool:
        for port in self.sentinel_ports:
            client = self._sentinel(port)
            try:
                state = cast(dict[str, Any], client.sentinel_master(MASTER))
            except redis.RedisError:
                return False
            finally:
                client.close()
            if int(state.get("num-slaves", 0)) < 1 or int(state.get("num-other-sentinels", 0)) < 2:
                return False
        return True

    def master_port(self) -> int | None:
        """The port of the master the sentinels name now (``None``: none answered)."""
        for port in self.sentinel_ports:
            client = self._sentinel(port)
            try:
                found = cast(Any, client.sentinel_get_master_addr_by_name(MASTER))
            except redis.RedisError:
                continue
            finally:
                client.close()
            if found:
                return int(found[1])
        return None

    def close(self) -> None:
        """Kill every process and remove the directory (if this made it)."""
        for process in self._sentinels:
            end_process_group(process, grace=0)
        self.master.kill()
        self.replica.kill()
        if self._owns:
            shutil.rmtree(self.directory, ignore_errors=True)

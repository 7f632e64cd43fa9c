"""``celery -A bus worker`` subprocesses inside test hosts (network namespaces)."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

from config.settings import BusSettings
from tests.brokers import new_namespace
from tests.support.servers import Hosts
from tests.worker.harness import FAST, ROOT, worker_environment


def fast_settings(
    broker_url: str, *, store_url: str | None = None, namespace: str | None = None
) -> BusSettings:
    """Settings of a fault test: a fresh namespace (unless given) and the worker tests' short
    leases, sweeps, retries and visibility timeout (tests/worker/harness.py ``FAST``)."""
    values: dict[str, object] = {
        **FAST,
        "broker_url": broker_url,
        "store_url": store_url,
        "namespace": namespace or new_namespace(),
    }
    return BusSettings.model_validate(values)


class HostWorker:
    """A solo-pool worker hosting the recorder agents, started inside ``host``.

    Its records go to ``record_url`` (a server the host reaches: the shared Redis on 127.0.0.1
    is not reachable from a namespace). :meth:`Hosts.close` ends it in any case.
    """

    def __init__(
        self, hosts: Hosts, host: str, settings: BusSettings, *, record_url: str, log: Path
    ) -> None:
        self.name = f"w{uuid.uuid4().hex[:8]}@{host}"
        self.log = log
        env = worker_environment(settings)
        env["BUS_TEST_RECORD_URL"] = record_url
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bus",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-n",
            self.name,
            "--without-mingle",
            "--without-gossip",
        ]
        self.process = hosts.run(host, argv, env, log=log, cwd=ROOT)

    @property
    def pid(self) -> int:
        """The worker's PID (its handlers run in it: solo pool)."""
        return self.process.pid

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the worker logs that it is ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.exists() and b" ready." in self.log.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        text = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        raise AssertionError(f"worker {self.name} did not start:\n{text}")

"""Settings and ``celery -A bus worker`` subprocesses for the fault tests, local or in a host."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

from bus.settings import BusSettings
from tests.brokers import REDIS_URL, new_namespace
from tests.support.process import end_process_group
from tests.support.servers import Hosts
from tests.worker.harness import FAST, ROOT, worker_environment

#: Retention of every fault test's channels: more than any test publishes (see fast_settings).
RETENTION = 100_000


def fast_settings(
    broker_url: str, *, store_url: str | None = None, namespace: str | None = None
) -> BusSettings:
    """Settings of a fault test: a fresh namespace (unless given), the worker tests' short
    leases, sweeps, retries and visibility timeout (tests/worker/harness.py ``FAST``), and a
    retention no test reaches, so that a reader lagging past retention (which skips what was
    trimmed, a separate case of issue 10) never passes for a loss caused by the fault."""
    values: dict[str, object] = {
        **FAST,
        "retention_max_messages": RETENTION,
        "broker_url": broker_url,
        "store_url": store_url,
        "namespace": namespace or new_namespace(),
    }
    return BusSettings.model_validate(values)


class FaultWorker:
    """A solo-pool worker hosting the agents of ``modules``, here or inside a test host.

    Its records go to ``record_url`` (the shared Redis by default; a namespace cannot reach
    127.0.0.1 of this host, so workers in test hosts record on a server of the bridge).
    Workers in hosts are also ended by :meth:`Hosts.close`.
    """

    def __init__(
        self,
        settings: BusSettings,
        *,
        log: Path,
        modules: str = "tests.helpers.recorder_agents",
        record_url: str = REDIS_URL,
        hosts: Hosts | None = None,
        host: str = "",
    ) -> None:
        self.name = f"w{uuid.uuid4().hex[:8]}@{host or 'localhost'}"
        self.log = log
        env = worker_environment(settings, modules)
        env["BUS_TEST_RECORD_URL"] = record_url
        # The channels a worker creates must match the test's, or start() refuses them.
        env["BUS_RETENTION_MAX_MESSAGES"] = str(settings.retention_max_messages)
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
        if hosts is not None:
            self.process = hosts.run(host, argv, env, log=log, cwd=ROOT)
            return
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        """The worker's PID (its handlers run in it: solo pool)."""
        return self.process.pid

    @property
    def alive(self) -> bool:
        """Whether the worker process is still running."""
        return self.process.poll() is None

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

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), SIGKILL after 20 s."""
        end_process_group(self.process, grace=20)

    def kill(self) -> None:
        """SIGKILL the worker."""
        end_process_group(self.process, grace=0)

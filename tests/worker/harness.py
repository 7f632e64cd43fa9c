"""Real ``celery -A bus worker`` subprocesses for the Redis and RabbitMQ worker tests."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import cast

import redis

from bus.settings import BusSettings
from bus.testing import environment_for, worker_command
from tests.brokers import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
#: Settings every worker test uses: fast retries, short leases and sweeps, and (Redis) a short
#: visibility timeout so a killed worker's deliveries come back within the test.
FAST = {
    "retry_backoff": 0.1,
    "max_retries": 2,
    "lease_seconds": 2.0,
    "sweep_interval": 1.0,
    "handler_time_limit": 4.0,
    "visibility_timeout": 6.0,
}


def worker_environment(
    settings: BusSettings,
    modules: str = "tests.helpers.recorder_agents",
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment for a worker hosting the agents of ``modules``."""
    # The FAST settings differ from the defaults, so environment_for passes them on.
    return environment_for(
        settings,
        pythonpath=[ROOT],
        extra={"BUS_AGENT_MODULES": modules, "BUS_TEST_RECORD_URL": REDIS_URL, **(extra or {})},
    )


class WorkerProcess:
    """One ``celery -A bus worker`` subprocess."""

    def __init__(
        self,
        settings: BusSettings,
        *,
        pool: str | None = "solo",
        concurrency: int | None = 1,
        log: Path,
        modules: str = "tests.helpers.recorder_agents",
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = f"w{uuid.uuid4().hex[:8]}@localhost"
        self.log = log
        command = worker_command(pool=pool, concurrency=concurrency, hostname=self.name)
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=worker_environment(settings, modules, env),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the worker logs that it is ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name} did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the worker and everything it started (prefork children included)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self._log_file.close()

    def terminate(self) -> None:
        """SIGTERM the worker's main process only (what a supervisor sends), without waiting."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)

    def stop(self, timeout: float = 20.0) -> None:
        """Warm shutdown (SIGTERM), SIGKILL if it does not end in time."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log_file.close()


def runs(settings: BusSettings) -> list[list[str]]:
    """The recorder's records so far, split into fields."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    lines = cast(list[str], client.lrange(f"{settings.namespace}:test:runs", 0, -1))
    return [line.split() for line in lines]


def wait_for(
    predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1
) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")

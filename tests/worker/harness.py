"""Real ``celery -A bus worker`` subprocesses for the Redis and RabbitMQ worker tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

from config.settings import BusSettings
from tests.brokers import REDIS_URL, environment_for

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
    settings: BusSettings, modules: str = "tests.helpers.recorder_agents"
) -> dict[str, str]:
    """Environment for a worker hosting the agents of ``modules``."""
    env = environment_for(settings)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        BUS_AGENT_MODULES=modules,
        BUS_TEST_RECORD_URL=REDIS_URL,
        BUS_RETRY_BACKOFF=str(settings.retry_backoff),
        BUS_MAX_RETRIES=str(settings.max_retries),
        BUS_LEASE_SECONDS=str(settings.lease_seconds),
        BUS_SWEEP_INTERVAL=str(settings.sweep_interval),
        BUS_HANDLER_TIME_LIMIT=str(settings.handler_time_limit),
        BUS_VISIBILITY_TIMEOUT=str(settings.visibility_timeout),
    )
    return env


class WorkerProcess:
    """One ``celery -A bus worker`` subprocess."""

    def __init__(
        self,
        settings: BusSettings,
        *,
        pool: str = "solo",
        concurrency: int = 1,
        log: Path,
        modules: str = "tests.helpers.recorder_agents",
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = f"w{uuid.uuid4().hex[:8]}@localhost"
        self.log = log
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bus",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "-n",
            self.name,
            "--without-mingle",
            "--without-gossip",
        ]
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**worker_environment(settings, modules), **(env or {})},
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
    return [line.split() for line in client.lrange(f"{settings.namespace}:test:runs", 0, -1)]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it is true; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")

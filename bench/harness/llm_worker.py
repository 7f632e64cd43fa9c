"""What the runtime cases share: a worker with DEFAULT options hosting some of
:mod:`bench.harness.llm_agents`, the runs its handlers recorded, its RSS, and a fake LLM process.

memory:// runs :class:`bus.worker.EmbeddedWorker` (its defaults) in this process; redis and amqp
run ONE ``celery -A bus worker`` subprocess with no ``--pool`` and no ``--concurrency`` (only
``--without-mingle/gossip/heartbeat``, as :mod:`bench.harness.solo_worker` does, so it does not
talk to other workers on the shared broker).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import redis

from bench.common import REDIS_URL, ROOT, bus_settings
from bench.harness import llm_agents
from bench.harness.runs import RunRecord
from bus import Bus
from bus.celery import create_app
from bus.demo.fake_llm import Latency
from bus.settings import BusSettings
from bus.worker import EmbeddedWorker, install, load_agents

MODULE = "bench.harness.llm_agents"


def tree_rss_mb(pid: int) -> float:
    """VmRSS of process ``pid`` and all its descendants, in MB (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, ()))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


@contextmanager
def fake_llm(latency: Latency, seed: int = 1) -> Iterator[str]:
    """A ``python -m bus.demo.fake_llm`` subprocess (its CPU is not this process's); yields its
    URL."""
    command = [sys.executable, "-m", "bus.demo.fake_llm", "--port", "0", "--seed", str(seed)]
    command += ["--latency", str(latency.median), "--sigma", str(latency.sigma)]
    command += ["--cap", str(latency.cap)]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if " on " not in line:
            raise RuntimeError(f"the fake LLM did not start: {line!r}")
        yield line.split(" on ", 1)[1].strip()
    finally:
        server.terminate()
        server.wait(10)


def llm_stats(url: str) -> dict[str, Any]:
    """The fake LLM's counters (``GET /stats``)."""
    stats: dict[str, Any] = httpx.get(f"{url}/stats", timeout=10).json()
    return stats


class HostedWorker:
    """A worker hosting ``agents`` (of :mod:`bench.harness.llm_agents`) on ``channel``.

    Use as a context manager; :attr:`bus` publishes, :meth:`runs` reads what handlers recorded.
    """

    def __init__(
        self, transport: str, namespace: str, agents: list[str], channel: str, **env: str
    ) -> None:
        self.transport = transport
        self.agents = agents
        self.channel = channel
        self.key = f"{namespace}:runs"
        self.settings: BusSettings = bus_settings(
            transport,
            namespace,
            default_channels=(channel,),
            agent_modules=(MODULE,),
            agents=tuple(agents),
            retention_max_messages=100_000,  # the whole burst: the publisher runs ahead
        )
        self.env = env
        self._saved_env: dict[str, str | None] = {}
        self._bus: Bus | None = None
        self.pid = os.getpid()
        self._embedded: EmbeddedWorker | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._redis = redis.Redis.from_url(REDIS_URL) if transport != "memory" else None

    def __enter__(self) -> HostedWorker:
        llm_agents.LOCAL.reset()
        try:
            if self.transport == "memory":
                # The handlers read LLM_BASE_URL (and BENCH_LLM_CLIENT) when they run.
                self._saved_env = {key: os.environ.get(key) for key in self.env}
                os.environ.update(self.env)
                app = create_app(self.settings)
                install(app, self.settings, load_agents((MODULE,), self.agents))
                self._bus = Bus(self.settings, app=app).start()
                self._embedded = EmbeddedWorker(app).start()  # defaults, as a user's would be
            else:
                self._bus = Bus(self.settings).start()
                self._spawn()
            self._wait_registered(90 + len(self.agents) / 2)
        except BaseException:
            self.__exit__()  # a worker that never registered must not outlive the case
            raise
        return self

    @property
    def bus(self) -> Bus:
        """The started bus the case publishes with."""
        if self._bus is None:
            raise RuntimeError("the hosted worker is not started")
        return self._bus

    def _spawn(self) -> None:
        settings = self.settings
        env = dict(
            os.environ,
            BUS_BROKER_URL=settings.broker_url,
            BUS_NAMESPACE=settings.namespace,
            BUS_DEFAULT_CHANNELS=self.channel,
            BUS_AGENT_MODULES=MODULE,
            BUS_AGENTS=",".join(self.agents),
            BUS_RETENTION_MAX_MESSAGES=str(settings.retention_max_messages),
            BENCH_REDIS_URL=REDIS_URL,
            BENCH_KEY=self.key,
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **self.env,
        )
        if settings.store_url:
            env["BUS_STORE_URL"] = settings.store_url
        command = [sys.executable, "-m", "celery", "-A", "bus", "worker"]
        command += ["--without-heartbeat", "--without-mingle", "--without-gossip"]
        command += ["--loglevel", os.environ.get("BENCH_CELERY_LOGLEVEL", "WARNING")]
        command += ["--hostname", f"{settings.namespace}@%h"]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self._process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.pid = self._process.pid

    def _wait_registered(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        wanted = set(self.agents)
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if wanted <= self.bus.get_channel(self.channel).members:
                    return
            except Exception:  # the channel is not there until the worker made it
                pass
            time.sleep(0.1)
        raise TimeoutError(f"the worker did not subscribe {len(wanted)} agents in {timeout} s")

    def check_alive(self) -> None:
        """Raise with the worker's log tail if its process exited."""
        if self._process is not None and self._process.poll() is not None:
            assert self._log is not None
            self._log.seek(0)
            tail = self._log.read().decode(errors="replace")[-1500:]
            raise RuntimeError(f"the bus worker exited: {tail}")

    def rss_mb(self) -> float:
        """RSS of the worker (and its children); on memory://, of this whole process."""
        return tree_rss_mb(self.pid)

    def runs(self) -> list[RunRecord]:
        """Every handler run recorded so far."""
        if self._redis is None:
            with llm_agents.LOCAL.lock:
                return list(llm_agents.LOCAL.runs)
        lines = self._redis.lrange(self.key, 0, -1)
        out: list[RunRecord] = []
        for line in lines:
            text = line.decode() if isinstance(line, bytes) else str(line)
            agent, seq, sent, started, ended = text.split()
            out.append((agent, int(seq), float(sent), float(started), float(ended)))
        return out

    def count(self) -> int:
        """How many handler runs were recorded so far."""
        if self._redis is None:
            return len(llm_agents.LOCAL.runs)
        return int(self._redis.llen(self.key))

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._embedded is not None:
                self._embedded.stop()
            if self._process is not None:
                self._process.terminate()
                try:
                    self._process.wait(20)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(5)
        finally:
            try:
                if self._bus is not None and self._bus.started:
                    self._bus.destroy()
            finally:
                if self._redis is not None:
                    self._redis.delete(self.key)
                    self._redis.close()
                if self._log is not None:
                    self._log.close()
                for key, value in self._saved_env.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value

"""A worker hosting the recorder agents with ``BUS_AUTH=required`` (the ``hosted`` fixture):
an embedded worker on memory, a real ``celery -A bus worker`` on Redis and RabbitMQ. The worker
acts as an agent identity (``host``) and signs each hosted agent's messages with that agent's
key (``BUS_CREDENTIALS_DIR``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bus import Bus
from bus.broker.celery_app import create_app
from bus.deadletters.operations import DeadLetter, list_dead_letters
from bus.worker import EmbeddedWorker, install, load_agents
from tests.auth.deploy import Deployment
from tests.helpers import recorder_agents
from tests.worker.harness import FAST, WorkerProcess, runs, wait_for

AGENTS = ("rec-a", "rec-b")


@dataclass
class Hosted:
    """A running worker hosting the recorder agents, and buses acting as others."""

    deployment: Deployment
    tester: Bus
    ops: Bus
    transport: str

    def records(self) -> list[list[str]]:
        """The recorder agents' records, split into fields (see ``recorder_agents``)."""
        if self.transport == "memory":
            return [line.split() for line in recorder_agents.RUNS]
        return [list(fields) for fields in runs(self.deployment.settings)]

    def done(self, agent: str, where: str = "#engineering") -> list[int]:
        return [int(f[3]) for f in self.records() if f[:3] == ["done", agent, where]]

    def started(self, agent: str, where: str | None = None) -> list[int]:
        """The seqs ``agent``'s handler started on (of ``where`` only, if given)."""
        return [
            int(f[3]) for f in self.records() if f[:2] == ["start", agent] and where in (None, f[2])
        ]

    def letters(self) -> list[DeadLetter]:
        return list_dead_letters(self.ops)


def _worker_env(deployment: Deployment, hosted: Path) -> dict[str, str]:
    settings = deployment.settings
    return {
        "BUS_AUTH": "required",
        "BUS_ROOT_PUBLIC_KEY": settings.root_public_key or "",
        "BUS_CREDENTIALS": str(deployment.directory / "host.json"),
        "BUS_CREDENTIALS_DIR": str(hosted),
        "BUS_AUTH_REFRESH_SECONDS": str(settings.auth_refresh_seconds),
        "BUS_PUBLISH_RATE": "0",
    }


@pytest.fixture
def hosted(transport: str, tmp_path: Path) -> Iterator[Hosted]:
    from tests.brokers import settings_for

    recorder_agents.RUNS.clear()
    deployment = Deployment(settings_for(transport, **FAST), tmp_path)
    deployment.issue("host")
    deployment.issue("ops", "operator")
    for name in AGENTS:
        deployment.issue(name, into="hosted")
    deployment.issue("tester")
    deployment.issue("mallory")
    worker_settings = deployment.settings_as("host", credentials_dir=str(tmp_path / "hosted"))
    try:
        if transport == "memory":
            app = create_app(worker_settings)
            install(app, worker_settings, load_agents(["tests.helpers.recorder_agents"]))
            with EmbeddedWorker(app, pool="threads", concurrency=2):
                yield started_hosting(deployment, transport, app)
        else:
            worker = WorkerProcess(
                deployment.settings,
                log=tmp_path / "worker.log",
                env=_worker_env(deployment, tmp_path / "hosted"),
            )
            try:
                worker.wait_ready()
                yield started_hosting(deployment, transport, None)
            finally:
                worker.stop()
    finally:
        deployment.close()


def done_is(hosted: Hosted, agent: str, seqs: list[int]) -> Callable[[], bool]:
    return lambda: hosted.done(agent) == seqs


def started_hosting(deployment: Deployment, transport: str, app: object) -> Hosted:
    tester = Bus(deployment.settings_as("tester"), app=app).start()
    deployment._buses.append(tester)
    ops = deployment.bus_as("ops")
    wait_for(
        lambda: (
            set(AGENTS) <= set(ops.agents())
            and all("#engineering" in ops.subscriptions(agent) for agent in AGENTS)
        ),
        30,
        "the worker to register its agents",
    )
    return Hosted(deployment, tester, ops, transport)

"""The demo company runs on every transport: in this process on memory://, with
``celery -A bus worker`` subprocesses on Redis and RabbitMQ."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bus.demo.fake_llm import FakeLLM
from bus.demo.transcript import run_demo
from bus.settings import BusSettings
from tests.brokers import settings_for
from tests.worker.harness import WorkerProcess

STORY = (
    "Q3 kickoff",
    "I'll take the API",
    "On it: worker pool",
    "When will the API be ready?",
    "alice says the API lands Friday, with tests.",
    "PR #42 approved (attempt 2",
    "Review done",
    "researcher: what p99",
    "(fake answer after",  # the researcher asked the fake LLM through its one client
)


def _assert_story(out: str) -> None:
    missing = [line for line in STORY if line not in out]
    assert missing == [], f"missing {missing} in:\n{out}"
    assert "history per channel" in out


@pytest.mark.memory
def test_the_demo_plays_out_in_one_process_on_memory() -> None:
    out = io.StringIO()
    assert run_demo(settings_for("memory", retry_backoff=0.1), out=out, timeout=30) == 0
    _assert_story(out.getvalue())
    assert "retrying" in out.getvalue()  # the embedded worker's retry is in the transcript


@pytest.mark.slow
def test_the_demo_drives_agents_hosted_by_worker_processes(
    broker_settings: BusSettings, tmp_path: Path
) -> None:
    with FakeLLM(latency=0.2) as llm:
        worker = WorkerProcess(
            broker_settings,
            pool="prefork",
            concurrency=2,
            log=tmp_path / "w.log",
            modules="workers.company,workers.researcher",
            env={"LLM_BASE_URL": llm.url},
        )
        try:
            worker.wait_ready()
            out = io.StringIO()
            assert run_demo(broker_settings, out=out, timeout=60) == 0, out.getvalue()
        finally:
            worker.stop()
    _assert_story(out.getvalue())

"""Across real processes: a chain A -> B -> C handled by two ``celery -A bus worker`` processes
(threads, and prefork: the SDK set up in the child after the fork) on Redis and on RabbitMQ is
one trace, with each span under its cause, exported over OTLP/HTTP to a receiver on loopback
when the workers stop (the batch delay is a minute: only the flush on shutdown sends them).
``bus trace`` shows the same chain as a tree, from the store."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bus import Bus
from bus.settings import BusSettings
from bus.testing import environment_for, join
from tests.tracing.conftest import Spans, span_id, trace_id
from tests.tracing.otlp_receiver import Receiver, otlp_receiver
from tests.worker.harness import ROOT, WorkerProcess, wait_for

pytestmark = pytest.mark.slow

CHAIN = "tests.helpers.chain_agents"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as found:
        yield found


def _otel(receiver: Receiver, service: str) -> dict[str, str]:
    return {
        "BUS_OTEL": "true",
        "OTEL_SERVICE_NAME": service,
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "60000",  # nothing is sent before the flush on shutdown
    }


def _bus_cli(settings: BusSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bus", *args],
        cwd=ROOT,
        env=environment_for(settings, pythonpath=[ROOT]),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_chain_across_two_workers_is_one_trace_and_bus_trace_shows_it(
    broker_settings: BusSettings, receiver: Receiver, spans: Spans, tmp_path: Path
) -> None:
    settings = broker_settings
    first = WorkerProcess(
        settings,
        pool="threads",
        concurrency=4,
        log=tmp_path / "first.log",
        modules=CHAIN,
        env={"BUS_AGENTS": "chain-a,chain-c", **_otel(receiver, "first")},
    )
    second = WorkerProcess(
        settings,
        pool="prefork",
        concurrency=1,
        log=tmp_path / "second.log",
        modules=CHAIN,
        env={"BUS_AGENTS": "chain-b", **_otel(receiver, "second")},
    )
    try:
        first.wait_ready()
        second.wait_ready()
        with Bus(settings) as bus:
            wait_for(lambda: {"chain-a", "chain-b", "chain-c"} <= set(bus.agents()), 30, "agents")
            wait_for(lambda: "#code-review" in bus.subscriptions("chain-c"), 30, "membership")
            task = bus.publish("#engineering", "the API", sender="ceo")
            for agent in ("chain-a", "chain-b", "chain-c"):
                join(bus, agent, 60)
            tree = bus.trace(task.id)
        shown = _bus_cli(settings, "--json", "trace", str(task.id))
        text = _bus_cli(settings, "trace", str(task.id))
    finally:
        first.stop()
        second.stop()

    # bus trace: the task, chain-a's DM to chain-b, chain-b's post on #code-review.
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert (document["message_id"], document["sender"], document["channel"]) == (
        str(task.id),
        "ceo",
        "#engineering",
    )
    (dm,) = document["children"]
    assert (dm["sender"], dm["recipient"], dm["seq"]) == ("chain-a", "chain-b", 1)
    (post,) = dm["children"]
    assert (post["sender"], post["channel"], post["children"]) == ("chain-b", "#code-review", [])
    assert [node.hops for _, node in tree.root.walk()] == [0, 1, 2]
    assert text.returncode == 0, text.stderr
    assert "DM to chain-b #1  chain-a [question]" in text.stdout
    assert "    └── #code-review #1  chain-b [announcement]" in text.stdout

    # The spans: one trace from this process's publish down to chain-c's handler.
    root = spans.one("publish #engineering")
    trace = f"{trace_id(root):032x}"
    exported = {span.name: span for span in receiver.spans() if span.trace_id == trace}
    order = [
        ("process #engineering", "first"),
        ("invoke_agent chain-a", "first"),
        ("publish @chain-b", "first"),
        ("process @chain-b", "second"),
        ("invoke_agent chain-b", "second"),
        ("publish #code-review", "second"),
        ("process #code-review", "first"),
        ("invoke_agent chain-c", "first"),
    ]
    missing = [name for name, _ in order if name not in exported]
    assert not missing, f"missing {missing}; received {[s.name for s in receiver.spans()]}"
    parent = f"{span_id(root):016x}"
    for name, service in order:
        span = exported[name]
        assert (span.parent_id, span.service) == (parent, service), name
        parent = span.span_id
    assert exported["invoke_agent chain-a"].attributes["gen_ai.usage.total_tokens"] == 12

    # chain-c's log line names its trace, span, message and cause.
    log = (tmp_path / "first.log").read_text()
    (line,) = [line for line in log.splitlines() if "chain-c read" in line]
    assert f"trace_id={trace}" in line
    assert f"span_id={exported['invoke_agent chain-c'].span_id}" in line
    assert f"causation_id={dm['message_id']}" in line
    assert f"message_id={post['message_id']}" in line


def test_bus_trace_of_an_unknown_id_exits_2_with_one_line(broker_settings: BusSettings) -> None:
    with Bus(broker_settings):
        pass  # the namespace exists
    unknown = str(uuid.uuid4())
    done = _bus_cli(broker_settings, "trace", unknown)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"bus: error: no retained message has the id {unknown} (never published, or trimmed "
        "by retention)"
    ]

"""The ``deliver`` span of a run (issue 18): with coalesced deliveries one delivery task hands a
run a burst; its span links to each message it handled, each keeping its own ``process`` span.
In process, on memory://, recorded by the SDK's in-memory exporter."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from opentelemetry.trace import SpanKind

from bus import Bus
from bus.broker.celery_app import create_app
from bus.message import Message
from bus.testing import join
from bus.worker import Agent, EmbeddedWorker, install
from bus.worker.context import HandlerContext
from tests.brokers import settings_for
from tests.tracing.conftest import Spans, parent_of, span_id
from tests.worker.harness import FAST, wait_for

pytestmark = pytest.mark.memory

batcher = Agent("batcher", channels=["#design"])
started = threading.Event()
release = threading.Event()
handled: list[str] = []


@batcher.on()
def take(message: Message, ctx: HandlerContext) -> None:
    started.set()
    assert release.wait(10), "never released"
    handled.append(message.content)


@pytest.fixture
def hosted(spans: Spans) -> Iterator[Bus]:
    """``batcher`` in an embedded worker with coalesced deliveries, traced into ``spans``."""
    started.clear()
    release.clear()
    handled.clear()
    settings = settings_for("memory", **{**FAST, "coalesce_deliveries": True})
    app = create_app(settings)
    install(app, settings, {"batcher": batcher})
    with Bus(settings, app=app) as bus, EmbeddedWorker(app, pool="threads", concurrency=2):
        wait_for(lambda: "#design" in bus.subscriptions("batcher"), 10, "registration")
        spans.exporter.clear()
        yield bus
        release.set()
        bus.destroy()


def test_a_delivery_that_handles_a_burst_is_one_span_linked_to_each_message(
    hosted: Bus, spans: Spans
) -> None:
    first = hosted.publish("#design", "one", sender="ceo")
    assert started.wait(10), "the first message was never handled"
    # The run holds the stream: these two wake no delivery of their own (coalesced).
    burst = [first] + [hosted.publish("#design", text, sender="ceo") for text in ("two", "three")]
    release.set()
    wait_for(lambda: len(handled) == 3, 10, "the burst")
    join(hosted, "batcher")
    wait_for(lambda: spans.named("deliver #design"), 10, "the deliver span")

    deliver = spans.one("deliver #design")
    publishes = spans.named("publish #design")
    assert len(publishes) == 3
    publish_of = {span.attributes["messaging.message.id"]: span for span in publishes}  # type: ignore[index]
    assert deliver.kind is SpanKind.CONSUMER
    assert parent_of(deliver) is None
    assert deliver.attributes is not None
    assert deliver.attributes["messaging.batch.message_count"] == 3
    assert deliver.attributes["messaging.consumer.group.name"] == "batcher"
    assert deliver.attributes["messaging.operation.type"] == "process"
    assert "messaging.bus.task_id" in deliver.attributes  # a delivery task started the run
    links = [
        (link.context.span_id, dict(link.attributes or {})["messaging.bus.seq"])
        for link in deliver.links
    ]
    assert links == [(span_id(publish_of[str(m.id)]), m.seq) for m in burst]
    # Each message keeps its own process span, under its own publish.
    processes = spans.named("process #design")
    assert sorted(parent_of(span) or 0 for span in processes) == sorted(
        span_id(span) for span in publishes
    )
    assert handled == ["one", "two", "three"]

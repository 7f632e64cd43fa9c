"""Fixtures of the tracing tests: an OpenTelemetry SDK whose spans stay in memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bus.tracing import use_tracer_provider
from tests.worker.conftest import broker_settings

__all__ = ["broker_settings"]  # the worker tests' fixture: Redis, then RabbitMQ


class Spans:
    """What bus recorded, by name."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.all() if span.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {self.names()}"
        return found[0]

    def names(self) -> list[str]:
        return sorted(span.name for span in self.all())


@pytest.fixture
def spans() -> Iterator[Spans]:
    """bus's spans go to an SDK provider that keeps them in memory (not the global provider:
    it can be set once per process, and other tests run without one)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    use_tracer_provider(provider)
    try:
        yield Spans(exporter)
    finally:
        use_tracer_provider(None)
        provider.shutdown()


def parent_of(span: ReadableSpan) -> int | None:
    """The span id of ``span``'s parent (``None``: a root)."""
    return None if span.parent is None else span.parent.span_id


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)

"""A small OTLP/HTTP receiver on loopback: it keeps the spans exporters post to ``/v1/traces``."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass(frozen=True)
class Received:
    """One span as an exporter sent it."""

    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    service: str
    attributes: dict[str, object]


class Receiver:
    """The spans received so far (thread-safe)."""

    def __init__(self) -> None:
        self._spans: list[Received] = []
        self._lock = threading.Lock()
        self.url = ""

    def add(self, spans: list[Received]) -> None:
        with self._lock:
            self._spans.extend(spans)

    def spans(self) -> list[Received]:
        with self._lock:
            return list(self._spans)

    def named(self, name: str) -> list[Received]:
        return [span for span in self.spans() if span.name == name]


def _value(value: object) -> object:
    for field in ("string_value", "int_value", "double_value", "bool_value"):
        if value.HasField(field):  # type: ignore[attr-defined]
            return getattr(value, field)
    return None


def _decode(body: bytes) -> list[Received]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    found = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                found.append(
                    Received(
                        name=span.name,
                        kind=span.kind,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        service=str(resource.get("service.name")),
                        attributes={a.key: _value(a.value) for a in span.attributes},
                    )
                )
    return found


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 (a free port); ``receiver.url`` is its traces URL."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            receiver.add(_decode(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()

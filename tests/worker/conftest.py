"""Fixtures of the worker tests: settings on a real broker, cleaned up afterwards."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import redis

from bus import Bus
from bus.settings import BusSettings
from tests.brokers import REDIS_URL, require, settings_for
from tests.worker.harness import FAST


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("amqp", marks=pytest.mark.amqp),
    ]
)
def broker_settings(request: pytest.FixtureRequest) -> Iterator[BusSettings]:
    """Settings for worker subprocesses on Redis, then on RabbitMQ; state deleted afterwards."""
    require(request.param)
    settings = settings_for(request.param, **FAST)
    yield settings
    Bus(settings).start().destroy()
    redis.Redis.from_url(REDIS_URL).delete(f"{settings.namespace}:test:runs")


class _SlowLLM(BaseHTTPRequestHandler):
    """Answers ``POST /v1/chat/completions?latency=<s>`` after that many seconds, keep-alive."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(float(query.get("latency", ["0"])[0]))
        body = json.dumps({"choices": [{"message": {"role": "assistant", "content": "ok"}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def llm_url() -> Iterator[str]:
    """A slow chat-completions endpoint on loopback (keep-alive, one thread per connection)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowLLM)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()

"""The fake LLM's HTTP protocol and counters (see :mod:`bus.demo.fake_llm`), on one asyncio loop.

HTTP/1.1 with keep-alive and ``Content-Length`` bodies: what httpx, the OpenAI SDK and aiohttp
send. Standard library only.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: Largest request head and body accepted (bytes).
MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024
#: Pending connections the listening socket queues: enough for hundreds of agents at once.
BACKLOG = 2048


@dataclass(frozen=True)
class Latency:
    """How long the server waits before answering.

    Args:
        median: Seconds; the fixed latency when ``sigma`` is 0.
        sigma: Spread of the lognormal distribution (0: fixed latency). 1.0 gives a p99 of
            about 10 times the median.
        cap: Seconds no latency exceeds (the tail of a lognormal is unbounded).
    """

    median: float = 0.2
    sigma: float = 0.0
    cap: float = 60.0

    def __post_init__(self) -> None:
        if not (self.median >= 0 and self.sigma >= 0 and self.cap >= self.median):
            raise ValueError(f"invalid latency {self!r}: need 0 <= median <= cap, sigma >= 0")

    def sample(self, rng: random.Random) -> float:
        """One latency, in seconds."""
        if self.sigma == 0 or self.median == 0:
            return self.median
        return min(self.cap, rng.lognormvariate(math.log(self.median), self.sigma))

    def for_key(self, seed: int, key: str) -> float:
        """The latency of the request with ``key`` (``?key=...``) on a server seeded ``seed``:
        a function of the two, so every run, and a benchmark's own arithmetic, agree on it."""
        return self.sample(random.Random(f"{seed}/{key}"))

    def mean(self, samples: int = 100_000, seed: int = 0) -> float:
        """The mean latency (estimated from ``samples`` draws when it is random)."""
        if self.sigma == 0 or self.median == 0:
            return self.median
        rng = random.Random(seed)
        return sum(self.sample(rng) for _ in range(samples)) / samples


@dataclass
class Stats:
    """What the server has done since it started (or was reset)."""

    #: Chat completions answered.
    requests: int = 0
    #: Chat completions waiting out their latency now, and at most so far.
    in_flight: int = 0
    max_in_flight: int = 0
    #: Seconds of latency served, summed over the answered requests.
    latency_total: float = 0.0
    #: Requests refused (bad path, method or body).
    errors: int = 0


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
_REASONS |= {411: "Length Required", 413: "Content Too Large", 431: "Headers Too Large"}


class FakeLLMServer:
    """The protocol and the counters; :meth:`serve` runs it on the current event loop.

    Args:
        latency: The default latency, used when a request names none.
        seed: Seed of the random latencies (the same seed gives the same sequence).
    """

    def __init__(self, latency: float | Latency = 0.2, *, seed: int = 0) -> None:
        self.latency = latency if isinstance(latency, Latency) else Latency(median=latency)
        self.stats = Stats()
        self.seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # stats are read from other threads (FakeLLM.stats)

    def snapshot(self) -> Stats:
        """A copy of the counters."""
        with self._lock:
            return Stats(**asdict(self.stats))

    def reset(self) -> None:
        """Zero the counters (requests in flight stay counted as in flight)."""
        with self._lock:
            self.stats = Stats(in_flight=self.stats.in_flight)

    async def serve(self, host: str, port: int) -> asyncio.Server:
        """Listen on ``host:port`` (0: any free port) and return the started server."""
        return await asyncio.start_server(
            self._connection, host, port, backlog=BACKLOG, limit=MAX_HEAD
        )

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the client closed the connection between requests
                except asyncio.LimitOverrunError:
                    await self._write(writer, 431, {"error": {"message": "head too large"}})
                    return
                status, payload, keep = await self._request(head, reader)
                await self._write(writer, status, payload, keep_alive=keep)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # The server is stopping with this request in flight. Nothing awaits a connection's
            # task, and Python 3.11's stream callback would log its cancellation as an error.
            return
        finally:
            writer.close()

    async def _request(
        self, head: bytes, reader: asyncio.StreamReader
    ) -> tuple[int, dict[str, Any], bool]:
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            return 400, self._error(f"bad request line {lines[0][:80]!r}"), False
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        try:
            body = await self._body(headers, reader)
            url = urlsplit(target)
            if url.path == "/v1/chat/completions" and method == "POST":
                return 200, await self._complete(body, parse_qs(url.query)), keep
            if url.path == "/stats" and method == "GET":
                return 200, asdict(self.snapshot()), keep
            if url.path == "/stats/reset" and method == "POST":
                self.reset()
                return 200, asdict(self.snapshot()), keep
            if url.path in ("/v1/chat/completions", "/stats", "/stats/reset"):
                raise _BadRequest(405, f"{method} is not allowed on {url.path}")
            raise _BadRequest(404, f"no such path {url.path!r}")
        except _BadRequest as exc:
            # A body left unread would be parsed as the next request: close instead.
            return exc.status, self._error(str(exc)), keep and exc.status not in (411, 413)

    async def _body(self, headers: dict[str, str], reader: asyncio.StreamReader) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _BadRequest(411, "chunked bodies are not supported; send Content-Length")
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise _BadRequest(411, "Content-Length is not a number") from None
        if length > MAX_BODY:
            raise _BadRequest(413, f"body over {MAX_BODY} bytes")
        return await reader.readexactly(length) if length else b""

    def _error(self, message: str) -> dict[str, Any]:
        with self._lock:
            self.stats.errors += 1
        return {"error": {"message": message, "type": "invalid_request_error"}}

    def _latency_of(self, query: dict[str, list[str]]) -> float:
        def number(name: str, default: float) -> float:
            try:
                return float(query[name][-1]) if name in query else default
            except ValueError:
                raise _BadRequest(400, f"query parameter {name} is not a number") from None

        try:
            if "latency" in query:
                return Latency(median=number("latency", 0.0), cap=math.inf).median
            if {"median", "sigma", "cap"} & set(query):
                default = self.latency
                chosen = Latency(
                    number("median", default.median),
                    number("sigma", default.sigma),
                    number("cap", default.cap),
                )
                return self._draw(chosen, query)
        except ValueError as exc:  # Latency refused the values
            raise _BadRequest(400, str(exc)) from None
        return self._draw(self.latency, query)

    def _draw(self, latency: Latency, query: dict[str, list[str]]) -> float:
        # A keyed request's latency depends on (seed, key) alone, not on arrival order.
        if "key" in query:
            return latency.for_key(self.seed, query["key"][-1])
        return latency.sample(self._rng)

    async def _complete(self, body: bytes, query: dict[str, list[str]]) -> dict[str, Any]:
        try:
            request = json.loads(body)
        except ValueError:
            raise _BadRequest(400, "the body is not JSON") from None
        messages = request.get("messages") if isinstance(request, dict) else None
        if not isinstance(messages, list) or not messages:
            raise _BadRequest(400, "'messages' must be a non-empty list")
        if not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
            raise _BadRequest(400, "each message needs a string 'content'")
        latency = self._latency_of(query)
        with self._lock:
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
        try:
            await asyncio.sleep(latency)
        finally:
            with self._lock:
                self.stats.in_flight -= 1
        with self._lock:
            self.stats.requests += 1
            self.stats.latency_total += latency
            number = self.stats.requests
        prompt = messages[-1]["content"]
        content = f"(fake answer after {latency:.3f} s) {prompt[:200]}"
        model = request.get("model") if isinstance(request.get("model"), str) else "fake"
        return {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": sum(len(m["content"].split()) for m in messages),
                "completion_tokens": len(content.split()),
                "total_tokens": sum(len(m["content"].split()) for m in messages)
                + len(content.split()),
            },
            "latency": round(latency, 6),
        }

    async def _write(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        payload: dict[str, Any],
        *,
        keep_alive: bool = False,
    ) -> None:
        data = json.dumps(payload).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        )
        writer.write(head.encode() + data)
        await writer.drain()

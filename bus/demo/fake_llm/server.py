"""The fake LLM's routes and counters (see :mod:`bus.demo.fake_llm`): which path answers
what, the latency each request waits out, and what the server has done. It speaks HTTP through
:mod:`bus.demo.fake_llm.http1`, on one asyncio loop. Standard library only.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from bus.demo.fake_llm import anthropic_api, http1, openai_api
from bus.demo.fake_llm.completion import (
    DEFAULT_MODEL,
    Answer,
    Event,
    InvalidRequest,
    Prompt,
    error_body,
    request_object,
)
from bus.demo.fake_llm.http1 import Reply, Request, RequestRefused
from bus.demo.fake_llm.latency import Latency


@dataclass
class Stats:
    """What the server has done since it started (or was reset)."""

    #: Completions answered, of every API (chat, responses, messages), streamed or not.
    requests: int = 0
    #: Of those, the ones answered as a stream of events.
    streams: int = 0
    #: Completions waiting out their latency now, and at most so far.
    in_flight: int = 0
    max_in_flight: int = 0
    #: Seconds of latency served, summed over the answered requests.
    latency_total: float = 0.0
    #: Requests refused (bad path, method or body).
    errors: int = 0
    #: Completions answered with the error status they asked for (``?status=503``).
    failed: int = 0


class Api(NamedTuple):
    """One completion API: how to read its request, and how to answer, plain or streamed."""

    prompt: Callable[[dict[str, Any]], Prompt]
    body: Callable[[Answer], dict[str, Any]]
    events: Callable[[Answer], Iterator[Event]]


#: The completion APIs by path. The OpenAI SDK's paths also answer without ``/v1`` (its base
#: URL is ``https://api.openai.com/v1``: a bare host works too); the Anthropic SDK adds it.
APIS = {
    "/v1/chat/completions": Api(
        openai_api.chat_prompt, openai_api.chat_completion, openai_api.chat_chunks
    ),
    "/v1/responses": Api(
        openai_api.responses_prompt, openai_api.response, openai_api.response_events
    ),
    "/v1/messages": Api(
        anthropic_api.messages_prompt, anthropic_api.message, anthropic_api.message_events
    ),
}
_OPENAI_PATHS = ("/chat/completions", "/responses", "/models")
SERVED = "POST /v1/chat/completions, /v1/responses, /v1/messages; GET /v1/models, /stats"


def route(path: str) -> str:
    """The served path a request's path names: an OpenAI path without ``/v1`` gets it."""
    path = path.rstrip("/") or "/"
    if any(path == p or path.startswith(p + "/") for p in _OPENAI_PATHS):
        return "/v1" + path
    return path


def not_found(path: str) -> str:
    """The message of a 404: what is served, and which base URL each SDK takes."""
    hint = "OpenAI SDK: base_url='http://HOST:PORT/v1'; Anthropic SDK: base_url='http://HOST:PORT'"
    doubled = (
        "the base URL ends in /v1 and the SDK adds its own; " if path.startswith("/v1/v1/") else ""
    )
    return f"no such path {path!r}: {doubled}this fake LLM serves {SERVED} ({hint})"


def _failure_of(query: dict[str, list[str]]) -> int | None:
    """The error status a request asks to be answered with (``?status=503``), if any."""
    if "status" not in query:
        return None
    text = query["status"][-1]
    if not (text.isdigit() and 400 <= int(text) <= 599):
        raise RequestRefused(
            400, f"query parameter status must be an HTTP error status, not {text!r}"
        )
    return int(text)


class FakeLLMServer:
    """The protocol and the counters; :meth:`serve` runs it on the current event loop.

    Args:
        latency: The default latency, used when a request names none.
        seed: Seed of the random latencies (the same seed gives the same sequence).
        models: The models ``GET /v1/models`` lists (a request may name any model).
    """

    def __init__(
        self,
        latency: float | Latency = 0.2,
        *,
        seed: int = 0,
        models: tuple[str, ...] = (DEFAULT_MODEL,),
    ) -> None:
        self.latency = latency if isinstance(latency, Latency) else Latency(median=latency)
        self.stats = Stats()
        self.seed = seed
        self.models = models
        self.started = int(time.time())
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
        return await http1.listen(host, port, self._dispatch, self._error)

    async def _dispatch(self, request: Request) -> Reply:
        url = request.url
        path = route(url.path)
        expected = "GET" if path.startswith("/v1/models") or path == "/stats" else "POST"
        known = path in APIS or path.startswith("/v1/models") or path in ("/stats", "/stats/reset")
        if not known:
            raise RequestRefused(404, not_found(url.path))
        if request.method != expected:
            message = f"{request.method} is not allowed on {path}; use {expected}"
            raise RequestRefused(405, message)
        if path in APIS:
            return await self._complete(APIS[path], request.body, parse_qs(url.query))
        if path.startswith("/v1/models"):
            return Reply(200, self._models(path, anthropic="anthropic-version" in request.headers))
        if path == "/stats/reset":
            self.reset()
        return Reply(200, asdict(self.snapshot()))

    def _models(self, path: str, *, anthropic: bool) -> dict[str, Any]:
        listing, one = (
            (anthropic_api.models, anthropic_api.model)
            if anthropic
            else (openai_api.models, openai_api.model)
        )
        name = path.removeprefix("/v1/models").strip("/")
        if not name:
            return listing(self.models, self.started)
        if name not in self.models:
            raise RequestRefused(404, f"no model {name!r}; this fake LLM lists {list(self.models)}")
        return one(name, self.started)

    def _error(self, status: int, message: str) -> Reply:
        with self._lock:
            self.stats.errors += 1
        return Reply(status, error_body(status, message))

    def _latency_of(self, query: dict[str, list[str]]) -> float:
        def number(name: str, default: float) -> float:
            try:
                return float(query[name][-1]) if name in query else default
            except ValueError:
                raise RequestRefused(400, f"query parameter {name} is not a number") from None

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
            raise RequestRefused(400, str(exc)) from None
        return self._draw(self.latency, query)

    def _draw(self, latency: Latency, query: dict[str, list[str]]) -> float:
        # A keyed request's latency depends on (seed, key) alone, not on arrival order.
        if "key" in query:
            return latency.for_key(self.seed, query["key"][-1])
        return latency.sample(self._rng)

    async def _complete(self, api: Api, body: bytes, query: dict[str, list[str]]) -> Reply:
        try:
            prompt = api.prompt(request_object(body))
        except InvalidRequest as exc:
            raise RequestRefused(400, str(exc)) from None
        latency = self._latency_of(query)
        failure = _failure_of(query)
        await self._wait(latency)
        if failure is not None:  # as an overloaded API answers: after the wait, an error
            with self._lock:
                self.stats.failed += 1
            message = f"the fake LLM fails this request as asked (?status={failure})"
            return Reply(failure, error_body(failure, message))
        with self._lock:
            self.stats.requests += 1
            self.stats.streams += prompt.stream
            self.stats.latency_total += latency
            number = self.stats.requests
        answer = Answer.to(prompt, number=number, latency=latency, created=int(time.time()))
        if prompt.stream:
            return Reply(200, events=api.events(answer))
        return Reply(200, api.body(answer))

    async def _wait(self, latency: float) -> None:
        with self._lock:
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
        try:
            await asyncio.sleep(latency)
        finally:
            with self._lock:
                self.stats.in_flight -= 1

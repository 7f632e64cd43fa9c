"""Agents of the runtime cases (``BUS_AGENT_MODULES=bench.harness.llm_agents``).

- ``llm-000`` ... ``llm-199`` on ``#llm``: each handler awaits the fake LLM
  (``LLM_BASE_URL``) through an ``httpx.AsyncClient``;
- ``iso-slow`` (50 ms handlers) and ``iso-fast`` (instant) on ``#iso``.

A worker hosts some of them (``BUS_AGENTS``). Every handler records one run: agent, seq, the
message's publish time, handler start and end (wall clock, seconds): to Redis
(``BENCH_REDIS_URL``, the list ``BENCH_KEY``) from a worker subprocess, to :data:`LOCAL` in
this process.

The handlers run on today's runtime (a new event loop per async handler call) and on the
issue 9 runtime (one long-lived loop, lifecycle hooks). Where ``Agent.on_startup`` exists, one
client per worker process is opened at startup and reaches handlers as ``ctx.state.llm``;
otherwise a loop-bound client cannot outlive the call, so each call makes its own (sharing one
SSL context, so what is measured is the runtime, not certificate loading).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench.harness.llm_workload import (
    ISO_CHANNEL,
    LIMITS,
    LLM_AGENTS,
    LLM_CHANNEL,
    SDK_MODES,
    SLEEP_MODE,
    SLOW_SECONDS,
    chat_body,
    chat_path,
    request_key,
    sdk_client,
    sleeper,
)
from bus.message import Message
from bus.worker import AgentRegistry


class Local:
    """Runs recorded in this process (the embedded worker on memory://)."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, int, float, float, float]] = []
        self.lock = threading.Lock()

    def reset(self) -> None:
        with self.lock:
            self.runs.clear()


LOCAL = Local()
_redis: dict[int, Any] = {}  # by pid: a prefork child must not use its parent's socket
_ssl: list[ssl.SSLContext] = []
_shared: dict[str, Any] = {"client": None, "sdk": None, "users": 0}


def _record(agent: str, message: Message, started: float) -> None:
    ended = time.time()
    assert message.seq is not None
    sent = message.timestamp.timestamp()  # stamped when the publisher made the message
    key = os.environ.get("BENCH_KEY")
    if key is None:
        with LOCAL.lock:
            LOCAL.runs.append((agent, message.seq, sent, started, ended))
        return
    client = _redis.get(os.getpid())
    if client is None:
        import redis

        client = _redis[os.getpid()] = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    client.rpush(key, f"{agent} {message.seq} {sent!r} {started!r} {ended!r}")


def _new_client() -> httpx.AsyncClient:
    if not _ssl:
        _ssl.append(ssl.create_default_context())
    url = os.environ["LLM_BASE_URL"]
    return httpx.AsyncClient(base_url=url, timeout=120, limits=LIMITS, verify=_ssl[0])


async def open_client(state: Any) -> None:
    """Startup hook: one client per worker process, shared by every agent it hosts; with
    ``BENCH_LLM_CLIENT=raw``, a bare keep-alive connection per agent instead (the peer's
    ``raw`` client), to measure the runtime without httpx's per-request pool cost; with
    ``openai`` or ``openai-aiohttp``, one ``AsyncOpenAI`` per worker process on the SDK's
    default httpx client or on its aiohttp client (case ``sdk``); with ``sleep``, no client:
    each handler awaits a sleep as long as the request would take (``BENCH_SLEEP``)."""
    mode = os.environ.get("BENCH_LLM_CLIENT")
    if mode == SLEEP_MODE:
        state.sleep_for = sleeper(os.environ["BENCH_SLEEP"])
        return
    if mode == "raw":
        from bench.baselines.asyncio_peer import RawConnection

        state.raw = RawConnection(os.environ["LLM_BASE_URL"])
        return
    if mode in SDK_MODES:
        if _shared["sdk"] is None:
            _shared["sdk"] = sdk_client(os.environ["LLM_BASE_URL"], mode)
        _shared["users"] += 1
        state.sdk = _shared["sdk"]
        return
    if _shared["client"] is None or _shared["client"].is_closed:
        _shared["client"] = _new_client()
    _shared["users"] += 1
    state.llm = _shared["client"]


async def close_client(state: Any) -> None:
    """Shutdown hook: close the shared client once the last agent using it stops."""
    if getattr(state, "sleep_for", None) is not None:
        return
    raw = getattr(state, "raw", None)
    if raw is not None:
        raw.close()
        return
    if getattr(state, "sdk", None) is not None:
        _shared["users"] -= 1
        if _shared["users"] <= 0 and _shared["sdk"] is not None:
            await _shared["sdk"].close()
            _shared["sdk"] = None
        return
    _shared["users"] -= 1
    if _shared["users"] <= 0 and _shared["client"] is not None:
        await _shared["client"].aclose()
        _shared["client"] = None


async def ask_llm(agent: str, message: Message, ctx: Any) -> None:
    """Await the fake LLM once (the shared client if startup made one, else one per call)."""
    path = chat_path(agent, message.seq or 0)
    sleep_for = getattr(getattr(ctx, "state", None), "sleep_for", None)
    if sleep_for is not None:
        await asyncio.sleep(sleep_for(agent, message.seq or 0))
        return
    raw = getattr(getattr(ctx, "state", None), "raw", None)
    if raw is not None:
        await raw.ask(path, message.content)
        return
    sdk = getattr(getattr(ctx, "state", None), "sdk", None)
    if sdk is not None:
        # The real OpenAI SDK: the key rides as a query parameter, as in chat_path.
        await sdk.chat.completions.create(
            model="fake-1",
            messages=[{"role": "user", "content": message.content}],
            extra_query={"key": request_key(agent, message.seq or 0)},
        )
        return
    client = getattr(getattr(ctx, "state", None), "llm", None)
    if client is not None:
        reply = await client.post(path, json=chat_body(message.content))
    else:
        async with _new_client() as own:
            reply = await own.post(path, json=chat_body(message.content))
    reply.raise_for_status()


async def slow(agent: str, message: Message, ctx: Any) -> None:
    """A 50 ms handler."""
    await asyncio.sleep(SLOW_SECONDS)


async def instant(agent: str, message: Message, ctx: Any) -> None:
    """A handler that returns at once."""


def _recorded(agent: str, work: Callable[[str, Message, Any], Awaitable[None]]) -> Any:
    async def handler(message: Message, ctx: Any) -> None:
        started = time.time()
        await work(agent, message, ctx)
        _record(agent, message, started)

    handler.__qualname__ = f"{agent}.{work.__name__}"
    return handler


#: The module's agents, where :func:`bus.worker.load_agents` finds them.
AGENTS = AgentRegistry()
for _name in LLM_AGENTS:
    _agent = AGENTS.agent(_name, channels=[LLM_CHANNEL])
    _agent.on()(_recorded(_name, ask_llm))
    _startup = getattr(_agent, "on_startup", None)  # the issue 9 runtime's hooks, if there
    _shutdown = getattr(_agent, "on_shutdown", None)
    if _startup is not None and _shutdown is not None:
        _startup(open_client)
        _shutdown(close_client)
AGENTS.agent("iso-slow", channels=[ISO_CHANNEL]).on()(_recorded("iso-slow", slow))
AGENTS.agent("iso-fast", channels=[ISO_CHANNEL]).on()(_recorded("iso-fast", instant))

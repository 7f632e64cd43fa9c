"""An agent that asks an LLM: how agents that wait on an API are written (issue 9's runtime).

The researcher answers questions on #engineering by asking a chat-completions endpoint. It
opens ONE ``httpx.AsyncClient`` per worker process when the worker starts, on the worker's
event loop, and every handler reuses it (its connection pool, keep-alive, limits); the worker
closes it on shutdown. While one handler awaits the LLM, the worker runs the others.

The endpoint is ``LLM_BASE_URL`` (default ``http://127.0.0.1:8089``: start the local fake
with ``python -m bus.demo.fake_llm --port 8089 --latency 0.5``); any OpenAI-compatible server works.

This module uses the runtime's lifecycle hooks (``on_startup``/``on_shutdown``, ``state``) and
awaitable ``ctx.publish``; it needs a bus whose worker runtime provides them.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from bus.message import Message
from bus.worker import Agent, Context

#: The endpoint when ``LLM_BASE_URL`` is not set: the local fake's default port.
DEFAULT_URL = "http://127.0.0.1:8089"
MODEL = "fake-1"

researcher = Agent(
    "researcher",
    channels=["#engineering"],
    description="Answers questions on #engineering by asking an LLM.",
)


@researcher.on_startup
async def open_client(state: Any) -> None:
    """Open the HTTP client every handler of this worker process shares."""
    # Many agents' handlers await at once: let the pool hold that many connections.
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    url = os.environ.get("LLM_BASE_URL", DEFAULT_URL)  # read when the worker starts
    state.llm = httpx.AsyncClient(base_url=url, timeout=60, limits=limits)


@researcher.on_shutdown
async def close_client(state: Any) -> None:
    """Close the client (its connections) when the worker stops."""
    await state.llm.aclose()


def prompt(message: Message) -> dict[str, Any]:
    """The chat-completions request for a question."""
    return {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a concise research assistant."},
            {"role": "user", "content": message.content},
        ],
    }


@researcher.on("question")
async def answer(message: Message, ctx: Context) -> None:
    """Ask the LLM, then publish its answer on #engineering."""
    reply = await ctx.state.llm.post("/v1/chat/completions", json=prompt(message))
    reply.raise_for_status()  # an HTTP error fails the attempt: the bus retries it
    content = reply.json()["choices"][0]["message"]["content"]
    await ctx.publish("#engineering", content, type="status_report")

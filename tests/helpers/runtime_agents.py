"""Agents for the agent-runtime tests: async handlers that wait like agents do.

Records go where :func:`tests.helpers.recorder_agents.record` puts them (a Redis list for worker
subprocesses, a list in this process for embedded workers), as
``"<phase> <agent> <channel|DM> <seq> <attempt> <pid>"`` with phase ``start`` or ``done``, plus
``startup``/``shutdown`` lines from the lifecycle hooks.

Message content steers the async handlers:

- ``llm:<seconds>`` posts to the fake LLM (``BUS_TEST_LLM_URL``) through ONE module-level
  ``httpx.AsyncClient``, which only works if every handler runs on the same event loop;
- ``sleep:<seconds>`` awaits that long (not at all under ``BUS_TEST_NO_SLEEP``); ``hang``
  awaits forever (until its timeout); ``slow:<agent>:<seconds>`` makes only that agent wait;
- ``ask:<agent>`` requests ``ping`` from another agent and records its answer;
- ``ping`` (a request) is answered with ``pong``.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx

from bus.message import Message
from bus.worker import AgentRegistry, AgentState, AsyncHandlerContext, HandlerContext
from tests.helpers.recorder_agents import record

#: One client for the whole process, made at import, before any event loop exists: it binds to
#: the loop of its first request, as a module-level OpenAI or Anthropic client does.
CLIENT = httpx.AsyncClient(timeout=30)


def _where(message: Message) -> str:
    return message.channel or "DM"


async def _act(message: Message, ctx: AsyncHandlerContext) -> str | None:
    command, _, argument = message.content.partition(":")
    if command == "llm":
        url = os.environ["BUS_TEST_LLM_URL"]
        reply = await CLIENT.post(
            f"{url}/v1/chat/completions?latency={argument}",
            json={"model": "fake", "messages": [{"role": "user", "content": message.content}]},
        )
        reply.raise_for_status()
    elif command == "sleep":
        await asyncio.sleep(0 if os.environ.get("BUS_TEST_NO_SLEEP") else float(argument))
    elif command == "slow":  # slow:<agent>:<seconds>: that agent waits, the others do not
        who, _, seconds = argument.partition(":")
        await asyncio.sleep(float(seconds) if who == ctx.agent else 0)
    elif command == "hang":
        await asyncio.sleep(3600)
    elif command == "ask":
        answer = await ctx.request(argument, "ping", timeout=30)
        record(f"answer {ctx.agent} {answer.sender} {answer.content.replace(' ', '_')}")
    elif command == "ping" and message.correlation_id is not None:
        return f"pong from {ctx.agent}"
    return None


async def handle(message: Message, ctx: AsyncHandlerContext) -> str | None:
    """Record the start, do what the content says, record the end."""
    head = f"{ctx.agent} {_where(message)} {message.seq} {ctx.attempt} {os.getpid()}"
    record(f"start {head} {time.monotonic():.4f}")
    result = await _act(message, ctx)
    ctx.state.handled = getattr(ctx.state, "handled", 0) + 1
    record(f"done {head} {time.monotonic():.4f}")
    return result


def handle_sync(message: Message, ctx: HandlerContext) -> None:
    """A plain handler: it runs on a thread of the worker, and sleeps there."""
    head = f"{ctx.agent} {_where(message)} {message.seq} {ctx.attempt} {os.getpid()}"
    record(f"start {head} {time.monotonic():.4f}")
    command, _, argument = message.content.partition(":")
    if command == "sleep":
        time.sleep(float(argument))
    record(f"done {head} {time.monotonic():.4f}")


async def opened(state: AgentState) -> None:
    state.opened_at = time.time()
    record(f"startup {os.getpid()}")


async def closed(state: AgentState) -> None:
    record(f"shutdown {os.getpid()} handled={getattr(state, 'handled', 0)}")


AGENTS = AgentRegistry()
for _name in ("rt-a", "rt-b", "rt-c"):
    _agent = AGENTS.agent(_name, channels=["#engineering"])
    _agent.on()(handle)
    _agent.on_direct()(handle)
AGENTS["rt-a"].on_startup(opened)
AGENTS["rt-a"].on_shutdown(closed)

hanging = AGENTS.agent("rt-hang", timeout=0.5)
hanging.on_direct()(handle)

plain = AGENTS.agent("rt-sync", channels=["#design"])
plain.on()(handle_sync)


def runs_of(lines: list[str], agent: str, phase: str = "done") -> list[int]:
    """Seqs of ``agent``'s ``phase`` records, in the order they were recorded."""
    return [int(f[3]) for f in (line.split() for line in lines) if f[0] == phase and f[1] == agent]


def most_in_flight(lines: list[str], agents: tuple[str, ...] = ("rt-a", "rt-b", "rt-c")) -> int:
    """The most handlers of ``agents`` that were running at once, from the record order."""
    running, most = 0, 0
    for fields in (line.split() for line in lines):
        if len(fields) > 1 and fields[1] in agents:
            running += {"start": 1, "done": -1}.get(fields[0], 0)
            most = max(most, running)
    return most


__all__: list[Any] = ["AGENTS", "CLIENT", "handle", "most_in_flight", "runs_of"]

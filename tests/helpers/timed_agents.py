"""An agent whose every handler run is recorded with the time it started and ended, for the
recovery test (tests/faults/test_worker_kill.py).

Records go to the Redis list ``<namespace>:test:timed`` at ``BUS_TEST_RECORD_URL``, each
``"<phase> <agent> <channel|DM> <seq> <attempt> <pid> <unix time>"`` with phase ``start`` or
``done``. Content ``sleep:<seconds>`` makes the handler wait that long (an LLM call).
"""

from __future__ import annotations

import asyncio
import os
import time

import redis.asyncio

from bus.message import Message
from bus.worker import Agent, AsyncHandlerContext

ha = Agent("ha", channels=["#engineering"])
_clients: dict[int, redis.asyncio.Redis] = {}


async def _record(phase: str, agent: str, message: Message, attempt: int) -> None:
    client = _clients.get(os.getpid())
    if client is None:
        client = _clients[os.getpid()] = redis.asyncio.Redis.from_url(
            os.environ["BUS_TEST_RECORD_URL"]
        )
    line = (
        f"{phase} {agent} {message.channel or 'DM'} {message.seq} {attempt} {os.getpid()} "
        f"{time.time():.3f}"
    )
    await client.rpush(f"{os.environ['BUS_NAMESPACE']}:test:timed", line)


@ha.on()
async def work(message: Message, ctx: AsyncHandlerContext) -> None:
    await _record("start", ctx.agent, message, ctx.attempt)
    if message.content.startswith("sleep:"):
        await asyncio.sleep(float(message.content.split(":", 1)[1]))
    await _record("done", ctx.agent, message, ctx.attempt)

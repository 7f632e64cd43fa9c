"""Three agents that make a chain across workers, for the tracing tests: a task on
``#engineering`` makes ``chain-a`` ask ``chain-b`` by direct message, whose answer on
``#code-review`` ``chain-c`` reads. Run ``chain-a`` and ``chain-c`` in one worker and
``chain-b`` in another, and the chain crosses processes twice.

With ``CHAIN_B_STALL`` naming a file that does not exist yet, ``chain-b``'s first handling
posts its answer, then writes its pid to that file and stalls: the test kills its worker there,
and the retry in another worker posts the answer again (deduplicated by its idempotency key,
as a step that may run twice should)."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from bus.message import Message
from bus.worker import Agent, Context

logger = logging.getLogger("tests.chain")

chain_a = Agent("chain-a", channels=["#engineering"])
chain_b = Agent("chain-b")
chain_c = Agent("chain-c", channels=["#code-review"])


@chain_a.on()
def delegate(message: Message, ctx: Context) -> None:
    ctx.send("chain-b", f"please do: {message.content}", metadata={"tokens_used": 12})


@chain_b.on_direct()
async def work(message: Message, ctx: Context) -> None:
    answer = f"done: {message.content}"
    key = f"chain-b:{message.id}"
    await ctx.publish("#code-review", answer, idempotency_key=key)  # type: ignore[misc]
    stall = os.environ.get("CHAIN_B_STALL")
    if stall and not Path(stall).exists():
        Path(stall).write_text(str(os.getpid()))
        await asyncio.sleep(60)  # killed here


@chain_c.on()
def read(message: Message, ctx: Context) -> None:
    logger.warning("chain-c read %s", message.content)  # a log line inside the handler

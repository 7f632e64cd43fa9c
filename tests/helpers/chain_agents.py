"""Three agents that make a chain across workers, for the tracing tests: a task on
``#engineering`` makes ``chain-a`` ask ``chain-b`` by direct message, whose answer on
``#code-review`` ``chain-c`` reads. Run ``chain-a`` and ``chain-c`` in one worker and
``chain-b`` in another, and the chain crosses processes twice."""

from __future__ import annotations

import logging

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
    await ctx.publish("#code-review", f"done: {message.content}")  # type: ignore[misc]


@chain_c.on()
def read(message: Message, ctx: Context) -> None:
    logger.warning("chain-c read %s", message.content)  # a log line inside the handler

"""Agents for the pushed-receipts tests (issue 17): two members of ``#pr-work`` (one handles
every message, one always fails, so the message is dead-lettered), ``pr-oracle``, which
replies to every request, and a sender, ``pr-boss``, whose ``on_receipt`` handler records each
receipt it gets.

Records go where :func:`tests.helpers.recorder_agents.record` puts them (the Redis list
``<namespace>:test:runs`` in worker subprocesses, ``RUNS`` embedded), one per receipt:
``"receipt <receipt message seq> <message id> <member> <state> <attempts>"``.
"""

from __future__ import annotations

from bus.message import Message
from bus.receipts import Receipt
from bus.worker import Agent, AsyncHandlerContext, Context
from tests.helpers.recorder_agents import record

CHANNEL = "#pr-work"

done = Agent("pr-done", channels=[CHANNEL])
fails = Agent("pr-fail", channels=[CHANNEL])
boss = Agent("pr-boss")
#: Answers every request (a request's receipt is pushed when replied, not when handled).
oracle = Agent("pr-oracle")


@done.on()
def handle(message: Message, ctx: Context) -> None:
    """Handled at once."""


@fails.on()
def fail(message: Message, ctx: Context) -> None:
    """Fails every attempt, so the message is dead-lettered."""
    raise RuntimeError(f"pr-fail cannot handle #{message.seq}")


@oracle.on_direct()
def answer(message: Message, ctx: Context) -> None:
    """Reply at once."""
    ctx.reply("42")


@boss.on_receipt
async def receipt(receipt: Receipt, ctx: AsyncHandlerContext) -> None:
    """Record the receipt, with the seq of the receipt message in pr-boss's inbox."""
    seq = ctx.message.seq
    record(
        f"receipt {seq} {receipt.message_id} {receipt.member} {receipt.state} {receipt.attempts}"
    )

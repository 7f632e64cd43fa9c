"""Agents for the guard tests (issue 23): two that answer each other forever (``ping`` and
``pong``), a ``spender`` whose handler reports usage then forwards to ``sink``, and ``chat``,
which answers whatever it is sent once (traffic the guards must leave alone)."""

from __future__ import annotations

from bus.message import Message
from bus.worker import Agent, AgentLimits, Context

ping = Agent("ping")
pong = Agent("pong")
#: Its own budget, kept in the store when a worker registers it: shared by every process.
spender = Agent("spender", limits=AgentLimits(budget_tokens=50))
sink = Agent("sink")
chat = Agent("chat")


@ping.on_direct()
def ping_answers(message: Message, ctx: Context) -> None:
    ctx.send("pong", f"ping {message.hops}")


@pong.on_direct()
def pong_answers(message: Message, ctx: Context) -> None:
    ctx.send("ping", f"pong {message.hops}")


@spender.on_direct()
def spend(message: Message, ctx: Context) -> None:
    ctx.send("sink", f"spent on {message.content}")
    ctx.report_usage(tokens=10, cost=0.01)


@sink.on_direct()
def swallow(message: Message, ctx: Context) -> None:
    pass


@chat.on_direct()
def answer(message: Message, ctx: Context) -> None:
    if message.sender != "chat":
        ctx.send(message.sender, f"re: {message.content}")

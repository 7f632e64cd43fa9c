"""Agents for the own-posts tests: ``quiet`` (the default: not handed its own channel posts)
and ``loud`` (``receive_own=True``), both in #engineering. A direct message asks one to post
its content on #engineering; each channel message it handles is recorded as
``"<agent> <sender> <content>"`` (see :func:`tests.helpers.recorder_agents.record`)."""

from __future__ import annotations

from bus.message import Message
from bus.worker import Agent, Context
from tests.helpers.recorder_agents import record

quiet = Agent("quiet", channels=["#engineering"])
loud = Agent("loud", channels=["#engineering"], receive_own=True)


@quiet.on()
@loud.on()
def remember(message: Message, ctx: Context) -> None:
    record(f"{ctx.agent} {message.sender} {message.content}")


@quiet.on_direct()
@loud.on_direct()
def post(message: Message, ctx: Context) -> None:
    ctx.publish("#engineering", message.content)

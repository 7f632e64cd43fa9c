"""Agents for the command-line tests, hosted by a ``celery -A bus worker`` subprocess.

``echo`` answers every direct message with ``echo: <content>`` (a returned string is sent back
as the reply to a request); ``mute`` handles direct messages and never answers; ``broken``
always fails, so its messages become dead letters.
"""

from __future__ import annotations

from bus.message import Message
from bus.worker import Agent, Context

echo = Agent("echo", channels=["#engineering"], description="Answers with what it was sent.")
mute = Agent("mute", description="Takes direct messages, never answers.")
broken = Agent("broken", description="Fails on every direct message.")


@echo.on_direct()
def echo_back(message: Message, ctx: Context) -> str:
    return f"echo: {message.content}"


@mute.on_direct()
def ignore(message: Message, ctx: Context) -> None:
    """Handled, never answered: a request to it times out."""


@broken.on_direct()
def fail(message: Message, ctx: Context) -> None:
    raise RuntimeError(f"broken cannot handle {message.content!r}")

"""Agents for the receipts tests (issue 17), members of ``#all-hands`` (broadcast): one handles
every message, one holds each message until the test releases it, one always fails.

``rc-slow`` waits on the Redis list ``<namespace>:test:release`` (BLPOP) when
``BUS_TEST_RECORD_URL`` is set (worker subprocesses), else on :data:`RELEASE` in this process
(embedded workers): the test decides when it finishes, no clock does.
"""

from __future__ import annotations

import asyncio
import os
import threading

from bus.message import Message
from bus.worker import Agent, Context

CHANNEL = "#all-hands"
#: Set by an embedded test to let ``rc-slow`` finish.
RELEASE = threading.Event()

done = Agent("rc-done", channels=[CHANNEL])
slow = Agent("rc-slow", channels=[CHANNEL])
fails = Agent("rc-fail", channels=[CHANNEL])


@done.on()
def handle(message: Message, ctx: Context) -> None:
    """Handled at once."""


def _released() -> None:
    url = os.environ.get("BUS_TEST_RECORD_URL")
    if url is None:
        RELEASE.wait(60)
        return
    import redis

    client = redis.Redis.from_url(url)
    key = f"{os.environ['BUS_NAMESPACE']}:test:release"
    # Each wait is shorter than the client's socket timeout; 60 of them is the limit.
    for _ in range(60):
        if client.blpop([key], timeout=1) is not None:
            return


@slow.on()
async def hold(message: Message, ctx: object) -> None:
    """In progress until the test releases it."""
    await asyncio.to_thread(_released)


@fails.on()
def fail(message: Message, ctx: Context) -> None:
    """Fails every attempt, so the message is dead-lettered."""
    raise RuntimeError(f"rc-fail cannot handle #{message.seq}")

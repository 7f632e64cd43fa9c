"""Following a stream over server-sent events, resumable: each event's id is the message's seq.

A browser that reconnects (the server restarted, the network blinked) sends the last id it saw
as ``Last-Event-ID``; the stream goes on from the message after it, read from the bus's history,
so the page gets every message once, in seq order. One poller per followed stream (not per
browser) watches its head and wakes the event streams waiting on it; each then reads what is new
for it from history.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool

from bus.channels import Stream
from bus.console.reads import ConsoleReads
from bus.message import Message

#: What the browser waits before it reconnects (milliseconds).
RETRY_MS = 1000
#: Seconds between two comments on a quiet stream (so proxies and the browser keep it open).
KEEPALIVE_SECONDS = 15.0


def message_data(message: Message) -> dict[str, Any]:
    """What the page's script draws of a message (as text, never markup)."""
    human = message.metadata.extra.get("human")
    return {
        "seq": message.seq,
        "id": str(message.id),
        "sender": message.sender,
        "human": human if isinstance(human, str) else None,
        "recipient": message.recipient,
        "type": str(message.type),
        "priority": str(message.priority),
        "time": message.timestamp.isoformat(),
        "content": message.content,
        "reply_to": message.reply_to,
    }


def event(message: Message) -> str:
    """One server-sent event: the message's seq as its id, the message as JSON data."""
    data = json.dumps(message_data(message), ensure_ascii=False)
    return f"id: {message.seq}\nevent: message\ndata: {data}\n\n"


class Feeds:
    """The heads of the streams being followed, each watched by one poller while followed."""

    def __init__(self, reads: ConsoleReads, poll_seconds: float) -> None:
        self._reads = reads
        self._poll = poll_seconds
        self._heads: dict[str, int] = {}
        self._changed: dict[str, asyncio.Event] = {}
        self._followers: dict[str, int] = {}
        self._pollers: set[asyncio.Task[None]] = set()

    async def _watch(self, stream: Stream) -> None:
        try:
            while self._followers.get(stream.id, 0) > 0:
                head = await run_in_threadpool(self._reads.head, stream)
                if head != self._heads.get(stream.id):
                    self._heads[stream.id] = head
                    self._changed.pop(stream.id, asyncio.Event()).set()
                await asyncio.sleep(self._poll)
        finally:
            self._heads.pop(stream.id, None)

    async def _past(self, stream: Stream, seq: int, timeout: float) -> None:
        """Return once ``stream``'s head is past ``seq`` (or after ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while stream.id not in self._heads or self._heads[stream.id] <= seq:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            changed = self._changed.setdefault(stream.id, asyncio.Event())
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return

    async def follow(self, stream: Stream, after: int) -> AsyncIterator[str]:
        """The events of ``stream`` after seq ``after``, for as long as the client listens."""
        self._followers[stream.id] = self._followers.get(stream.id, 0) + 1
        if self._followers[stream.id] == 1:
            poller = asyncio.create_task(self._watch(stream))
            self._pollers.add(poller)
            poller.add_done_callback(self._pollers.discard)
        try:
            yield f"retry: {RETRY_MS}\n\n"
            cursor = after
            while True:
                fresh = await run_in_threadpool(self._reads.after, stream, cursor)
                for message in fresh:
                    if (message.seq or 0) > cursor:
                        cursor = message.seq or cursor
                        yield event(message)
                if not fresh and await self._quiet(stream, cursor):
                    yield ": idle\n\n"
        finally:
            self._followers[stream.id] -= 1

    async def _quiet(self, stream: Stream, cursor: int) -> bool:
        """Wait for news past ``cursor``; whether none came within the keep-alive time."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self._past(stream, cursor, KEEPALIVE_SECONDS)
        return loop.time() - started >= KEEPALIVE_SECONDS


def resume_point(last_event_id: str | None, after: str | None) -> int:
    """Where an event stream starts: after the browser's ``Last-Event-ID`` (a reconnect), else
    after the page's ``?after=`` (the newest seq it rendered), else from the start."""
    for value in (last_event_id, after):
        if value and value.strip().isdigit():
            return int(value.strip())
    return 0

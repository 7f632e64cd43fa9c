"""The HTTP/1.1 the fake LLM speaks (see :mod:`bus.demo.fake_llm`), apart from what it serves.

Keep-alive connections on one asyncio loop; requests with ``Content-Length`` bodies (what httpx,
the OpenAI and Anthropic SDKs and aiohttp send); JSON replies with a ``Content-Length``, and
streams as ``text/event-stream`` in chunked transfer encoding, one chunk per event. What a
request is answered is the caller's: :func:`listen` takes it as two callables. Standard library
only.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from bus.demo.fake_llm.completion import Event, error_body

#: Largest request head and body accepted (bytes).
MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024
#: Pending connections the listening socket queues: enough for hundreds of agents at once.
BACKLOG = 2048

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
_REASONS |= {411: "Length Required", 413: "Content Too Large", 431: "Headers Too Large"}
_REASONS |= {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class RequestRefused(Exception):
    """The request is answered with the error ``status`` (and ``message``) instead."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Request:
    """A request as read off the connection: its method, target URL, headers and body."""

    method: str
    url: SplitResult
    #: Names in lower case.
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """What a request is answered: a JSON body, or (status 200) a stream of events."""

    status: int
    body: dict[str, Any] | None = None
    events: Iterable[Event] | None = None


#: Answers a request; raises :class:`RequestRefused` to refuse it.
Answerer = Callable[[Request], Awaitable[Reply]]
#: The reply to a refused request (status, message): where the server counts its refusals.
Refuser = Callable[[int, str], Reply]


async def listen(host: str, port: int, answer: Answerer, refuse: Refuser) -> asyncio.Server:
    """Listen on ``host:port`` (0: any free port) and return the started server.

    Args:
        answer: Answers each request read.
        refuse: The reply to a request that cannot be read or that ``answer`` refuses.
    """
    return await asyncio.start_server(
        functools.partial(_connection, answer, refuse), host, port, backlog=BACKLOG, limit=MAX_HEAD
    )


async def _connection(
    answer: Answerer,
    refuse: Refuser,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # the client closed the connection between requests
            except asyncio.LimitOverrunError:
                await _write(writer, Reply(431, error_body(431, "head too large")))
                return
            reply, keep = await _exchange(answer, refuse, head, reader)
            await _write(writer, reply, keep_alive=keep)
            if not keep:
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    except asyncio.CancelledError:
        # The server is stopping with this request in flight. Nothing awaits a connection's
        # task, and Python 3.11's stream callback would log its cancellation as an error.
        return
    finally:
        writer.close()


async def _exchange(
    answer: Answerer, refuse: Refuser, head: bytes, reader: asyncio.StreamReader
) -> tuple[Reply, bool]:
    """The reply to the request of ``head``, and whether the connection stays open after it."""
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ")
    except ValueError:
        return refuse(400, f"bad request line {lines[0][:80]!r}"), False
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    try:
        body = await _body(headers, reader)
        return await answer(Request(method, urlsplit(target), headers, body)), keep
    except RequestRefused as exc:
        # A body left unread would be parsed as the next request: close instead.
        return refuse(exc.status, str(exc)), keep and exc.status not in (411, 413)


async def _body(headers: dict[str, str], reader: asyncio.StreamReader) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise RequestRefused(411, "chunked bodies are not supported; send Content-Length")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise RequestRefused(411, "Content-Length is not a number") from None
    if length > MAX_BODY:
        raise RequestRefused(413, f"body over {MAX_BODY} bytes")
    return await reader.readexactly(length) if length else b""


async def _write(writer: asyncio.StreamWriter, reply: Reply, *, keep_alive: bool = False) -> None:
    connection = f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n"
    status = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Error')}\r\n"
    if reply.events is None:
        data = json.dumps(reply.body).encode()
        length = f"Content-Length: {len(data)}\r\n"
        head = status + "Content-Type: application/json\r\n" + length + connection + "\r\n"
        writer.write(head.encode() + data)
        await writer.drain()
        return
    head = status + "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    writer.write((head + "Transfer-Encoding: chunked\r\n" + connection + "\r\n").encode())
    for event in reply.events:  # one HTTP chunk per event, each sent as it is made
        data = event.encode()
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()

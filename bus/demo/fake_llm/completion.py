"""What every API of the fake LLM shares: the prompt read from a request, the answer the fake
model gives, the server-sent event a stream is made of, and the one error a bad request raises.

The fake model echoes: its answer is ``(fake answer after 0.200 s) <the last user text>``, cut
into word-sized pieces (a stream sends one piece per delta; the pieces joined are the text, so a
streamed answer equals the plain one). A token is a piece; ``max_tokens`` keeps that many.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: The model ``/v1/models`` lists; a request may name any model, and gets it echoed.
DEFAULT_MODEL = "fake-1"
#: Characters of the prompt the answer echoes.
ECHOED = 200

_PIECE = re.compile(r"\S+\s*|\s+")


class InvalidRequest(ValueError):
    """The request is not one the API accepts (answered 400 in the API's error shape)."""


@dataclass(frozen=True)
class Prompt:
    """What a request asks, whatever its API.

    Args:
        text: The text the answer echoes (the last user turn).
        input_tokens: Whitespace-separated words of every text of the request.
        model: The model the request named.
        max_tokens: Pieces the answer may have (``None``: no limit).
        stream: Whether the answer is a stream of events.
        include_usage: OpenAI chat streams: whether a last chunk carries the usage.
    """

    text: str
    input_tokens: int
    model: str
    max_tokens: int | None = None
    stream: bool = False
    include_usage: bool = False


@dataclass(frozen=True)
class Answer:
    """The fake model's answer to one :class:`Prompt`, after ``latency`` seconds."""

    prompt: Prompt
    #: The request's number on this server (1, 2, ...): ids are made of it.
    number: int
    latency: float
    created: int
    pieces: tuple[str, ...]
    #: Whether ``max_tokens`` cut the answer short.
    truncated: bool

    @classmethod
    def to(cls, prompt: Prompt, *, number: int, latency: float, created: int) -> Answer:
        """The answer to ``prompt``, cut to its ``max_tokens``."""
        text = f"(fake answer after {latency:.3f} s) {prompt.text[:ECHOED]}"
        pieces = tuple(_PIECE.findall(text))
        limit = prompt.max_tokens
        truncated = limit is not None and len(pieces) > limit
        return cls(prompt, number, latency, created, pieces[:limit], truncated)

    @property
    def text(self) -> str:
        """The whole answer."""
        return "".join(self.pieces)

    @property
    def output_tokens(self) -> int:
        """Tokens of the answer (its pieces)."""
        return len(self.pieces)


@dataclass(frozen=True)
class Event:
    """One server-sent event: ``event: <name>`` (when named) and ``data: <data>``."""

    data: dict[str, Any] | str
    name: str | None = None

    def encode(self) -> bytes:
        """The event's bytes on the wire, with the blank line that ends it."""
        data = self.data if isinstance(self.data, str) else json.dumps(self.data)
        head = f"event: {self.name}\n" if self.name else ""
        return f"{head}data: {data}\n\n".encode()


def words(texts: Iterable[str]) -> int:
    """Whitespace-separated words of ``texts``: the fake's token count of a prompt."""
    return sum(len(text.split()) for text in texts)


def text_of(content: object, where: str) -> str:
    """The text of a message's ``content``: a string, or a list of parts with a ``text``
    (``{"type": "text", "text": ...}`` and the like; other parts, images say, are skipped).

    Raises:
        InvalidRequest: ``content`` is neither.
    """
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        return "".join(part["text"] for part in content if isinstance(part.get("text"), str))
    raise InvalidRequest(f"{where} must be a string or a list of content parts")


def request_object(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body.

    Raises:
        InvalidRequest: the body is not a JSON object.
    """
    try:
        request = json.loads(body)
    except ValueError:
        raise InvalidRequest("the body is not JSON") from None
    if not isinstance(request, dict):
        raise InvalidRequest("the body must be a JSON object")
    return request


def model_of(request: dict[str, Any]) -> str:
    """The model a request names (:data:`DEFAULT_MODEL` when it names none)."""
    model = request.get("model")
    return model if isinstance(model, str) and model else DEFAULT_MODEL


def limit_of(request: dict[str, Any], *names: str) -> int | None:
    """The first of ``names`` the request sets, as a token limit (``None`` when none is set).

    Raises:
        InvalidRequest: it is not a positive integer.
    """
    for name in names:
        value = request.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidRequest(f"'{name}' must be a positive integer")
        return value
    return None


def flag(request: dict[str, Any], name: str) -> bool:
    """A boolean field of the request (absent: false).

    Raises:
        InvalidRequest: it is present and not a boolean.
    """
    value = request.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequest(f"'{name}' must be true or false")
    return value


def error_body(status: int, message: str) -> dict[str, Any]:
    """An error body both SDKs read: Anthropic's shape, whose ``error.message`` OpenAI's reads."""
    kinds = {404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large"}
    kind = kinds.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}

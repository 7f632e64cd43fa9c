"""The Anthropic shapes of the fake LLM: messages (plain and streamed) and the model list, as
``anthropic.AsyncAnthropic`` reads them.

A stream is Anthropic's named events in their order: ``message_start`` (the message, no content
yet, the input tokens), ``content_block_start``, ``ping``, one ``content_block_delta`` (a
``text_delta``) per piece of text, ``content_block_stop``, ``message_delta`` (the
``stop_reason`` and the output tokens) and ``message_stop``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from bus.demo.fake_llm.completion import (
    Answer,
    Event,
    InvalidRequest,
    Prompt,
    flag,
    limit_of,
    model_of,
    text_of,
    words,
)


def messages_prompt(request: dict[str, Any]) -> Prompt:
    """The prompt of a ``POST /v1/messages`` request (``max_tokens`` is required, as there).

    Raises:
        InvalidRequest: no messages, a message without text content, or no ``max_tokens``.
    """
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: must be a non-empty list")
    if not all(isinstance(m, dict) and "content" in m for m in messages):
        raise InvalidRequest("messages: each message needs a 'content'")
    texts = [text_of(m["content"], f"messages.{i}.content") for i, m in enumerate(messages)]
    system = request.get("system")
    extra = [text_of(system, "system")] if system is not None else []
    max_tokens = limit_of(request, "max_tokens")
    if max_tokens is None:
        raise InvalidRequest("max_tokens: Field required")
    return Prompt(
        text=texts[-1],
        input_tokens=words(texts + extra),
        model=model_of(request),
        max_tokens=max_tokens,
        stream=flag(request, "stream"),
    )


def _stop_reason(answer: Answer) -> str:
    return "max_tokens" if answer.truncated else "end_turn"


def message(answer: Answer, *, done: bool = True) -> dict[str, Any]:
    """The ``message`` object of an answer (``done=False``: as ``message_start`` has it)."""
    return {
        "id": f"msg_fake_{answer.number}",
        "type": "message",
        "role": "assistant",
        "model": answer.prompt.model,
        "content": [{"type": "text", "text": answer.text}] if done else [],
        "stop_reason": _stop_reason(answer) if done else None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": answer.prompt.input_tokens,
            "output_tokens": answer.output_tokens if done else 1,
        },
        "latency": round(answer.latency, 6),
    }


def message_events(answer: Answer) -> Iterator[Event]:
    """The named events of a streamed message, ``message_stop`` last."""
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"message": message(answer, done=False)}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ("ping", {}),
    ]
    events += [
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
        for piece in answer.pieces
    ]
    events += [
        ("content_block_stop", {"index": 0}),
        (
            "message_delta",
            {
                "delta": {"stop_reason": _stop_reason(answer), "stop_sequence": None},
                "usage": {"output_tokens": answer.output_tokens},
            },
        ),
        ("message_stop", {}),
    ]
    for name, data in events:
        yield Event({"type": name} | data, name=name)


def models(names: tuple[str, ...], created: int) -> dict[str, Any]:
    """``GET /v1/models`` asked by the Anthropic SDK (an ``anthropic-version`` header)."""
    data = [model(name, created) for name in names]
    return {
        "data": data,
        "has_more": False,
        "first_id": names[0] if names else None,
        "last_id": names[-1] if names else None,
    }


def model(name: str, created: int) -> dict[str, Any]:
    """``GET /v1/models/{name}`` asked by the Anthropic SDK: one model."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
    return {"type": "model", "id": name, "display_name": name, "created_at": stamp}

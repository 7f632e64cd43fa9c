"""The OpenAI shapes of the fake LLM: chat completions (plain and streamed), the Responses API
(plain and streamed) and the model list, as ``openai.AsyncOpenAI`` reads them.

A chat stream is ``data: {chunk}`` events, each a ``chat.completion.chunk`` with
``choices[0].delta``: the role first, then one piece of text per chunk, then an empty delta
with the ``finish_reason``, then (with ``stream_options.include_usage``) a chunk with no
choices and the usage, then ``data: [DONE]``. A Responses stream is the named events
``response.created`` ... ``response.output_text.delta`` ... ``response.completed``.
"""

from __future__ import annotations

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


def chat_prompt(request: dict[str, Any]) -> Prompt:
    """The prompt of a ``POST /v1/chat/completions`` request.

    Raises:
        InvalidRequest: no messages, or a message without text content.
    """
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty list")
    if not all(isinstance(m, dict) and m.get("content") is not None for m in messages):
        raise InvalidRequest("each message needs a 'content'")
    texts = [text_of(m["content"], f"messages[{i}].content") for i, m in enumerate(messages)]
    options = request.get("stream_options")
    return Prompt(
        text=texts[-1],
        input_tokens=words(texts),
        model=model_of(request),
        max_tokens=limit_of(request, "max_completion_tokens", "max_tokens"),
        stream=flag(request, "stream"),
        include_usage=isinstance(options, dict) and options.get("include_usage") is True,
    )


def _chat_usage(answer: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt.input_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.prompt.input_tokens + answer.output_tokens,
    }


def _finish_reason(answer: Answer) -> str:
    return "length" if answer.truncated else "stop"


def chat_completion(answer: Answer) -> dict[str, Any]:
    """The ``chat.completion`` object of an answer (and the fake's ``latency``)."""
    return {
        "id": f"chatcmpl-fake-{answer.number}",
        "object": "chat.completion",
        "created": answer.created,
        "model": answer.prompt.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text, "refusal": None},
                "logprobs": None,
                "finish_reason": _finish_reason(answer),
            }
        ],
        "usage": _chat_usage(answer),
        "system_fingerprint": None,
        "latency": round(answer.latency, 6),
    }


def chat_chunks(answer: Answer) -> Iterator[Event]:
    """The events of a streamed chat completion, ``data: [DONE]`` last."""
    usage = answer.prompt.include_usage

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> Event:
        data = {
            "id": f"chatcmpl-fake-{answer.number}",
            "object": "chat.completion.chunk",
            "created": answer.created,
            "model": answer.prompt.model,
            "system_fingerprint": None,
            "choices": choices,
        }
        if usage:  # with include_usage every chunk says "usage", null until the last
            data["usage"] = None
        return Event(data | extra)

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]

    yield chunk(choice({"role": "assistant", "content": "", "refusal": None}))
    for piece in answer.pieces:
        yield chunk(choice({"content": piece}))
    yield chunk(choice({}, _finish_reason(answer)))
    if usage:
        yield chunk([], usage=_chat_usage(answer))
    yield Event("[DONE]")


def responses_prompt(request: dict[str, Any]) -> Prompt:
    """The prompt of a ``POST /v1/responses`` request: ``input`` a string or a list of
    messages (``{"role": ..., "content": ...}``), ``instructions`` optional.

    Raises:
        InvalidRequest: no input, or an input item without text content.
    """
    given = request.get("input")
    if isinstance(given, str):
        texts = [given]
    elif isinstance(given, list) and given and all(isinstance(i, dict) for i in given):
        texts = [
            text_of(item.get("content", ""), f"input[{i}].content") for i, item in enumerate(given)
        ]
    else:
        raise InvalidRequest("'input' must be a string or a non-empty list of messages")
    instructions = request.get("instructions")
    extra = [instructions] if isinstance(instructions, str) else []
    return Prompt(
        text=texts[-1],
        input_tokens=words(texts + extra),
        model=model_of(request),
        max_tokens=limit_of(request, "max_output_tokens"),
        stream=flag(request, "stream"),
    )


def _output_text(answer: Answer, text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message(answer: Answer, *, done: bool) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"msg_fake_{answer.number}",
        "status": "completed" if done else "in_progress",
        "role": "assistant",
        "content": [_output_text(answer, answer.text)] if done else [],
    }


def response(answer: Answer, *, done: bool = True) -> dict[str, Any]:
    """The ``response`` object of an answer (``done=False``: as a stream begins)."""
    status = ("incomplete" if answer.truncated else "completed") if done else "in_progress"
    input_tokens, output_tokens = answer.prompt.input_tokens, answer.output_tokens
    usage = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }
    return {
        "id": f"resp_fake_{answer.number}",
        "object": "response",
        "created_at": answer.created,
        "status": status,
        "model": answer.prompt.model,
        "output": [_message(answer, done=True)] if done else [],
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"}
        if done and answer.truncated
        else None,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "top_p": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "text": {"format": {"type": "text"}},
        "usage": usage if done else None,
        "latency": round(answer.latency, 6),
    }


def response_events(answer: Answer) -> Iterator[Event]:
    """The named events of a streamed response, ``response.completed`` last."""
    item_id = f"msg_fake_{answer.number}"
    at = {"item_id": item_id, "output_index": 0, "content_index": 0}
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": response(answer, done=False)}),
        ("response.in_progress", {"response": response(answer, done=False)}),
        ("response.output_item.added", {"output_index": 0, "item": _message(answer, done=False)}),
        ("response.content_part.added", at | {"part": _output_text(answer, "")}),
    ]
    events += [
        ("response.output_text.delta", at | {"delta": piece, "logprobs": []})
        for piece in answer.pieces
    ]
    events += [
        ("response.output_text.done", at | {"text": answer.text, "logprobs": []}),
        ("response.content_part.done", at | {"part": _output_text(answer, answer.text)}),
        ("response.output_item.done", {"output_index": 0, "item": _message(answer, done=True)}),
        ("response.completed", {"response": response(answer)}),
    ]
    for number, (name, data) in enumerate(events):
        yield Event({"type": name, "sequence_number": number} | data, name=name)


def models(names: tuple[str, ...], created: int) -> dict[str, Any]:
    """``GET /v1/models``: the model list."""
    return {"object": "list", "data": [model(name, created) for name in names]}


def model(name: str, created: int) -> dict[str, Any]:
    """``GET /v1/models/{name}``: one model."""
    return {"id": name, "object": "model", "created": created, "owned_by": "bus-fake-llm"}

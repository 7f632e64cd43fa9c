"""The fake LLM through the real SDKs agents use: ``openai.AsyncOpenAI`` and
``anthropic.AsyncAnthropic`` against the server on a free loopback port, plain and streamed.

The SDKs' retries are off (``max_retries=0``): a wrong answer must fail here, not be retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import anthropic
import openai
import pytest

from bus.demo.fake_llm import FakeLLM

T = TypeVar("T")
QUESTION = "What p99 should an agent bus aim for?"
USER: Any = [{"role": "user", "content": QUESTION}]


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    # A fixed latency: the answer (which names it) is the same plain and streamed.
    with FakeLLM(latency=0.01) as server:
        yield server


def with_openai(
    llm: FakeLLM, use: Callable[[openai.AsyncOpenAI], Awaitable[T]], path: str = "/v1"
) -> T:
    async def run() -> T:
        async with openai.AsyncOpenAI(
            base_url=llm.url + path, api_key="x", max_retries=0
        ) as client:
            return await use(client)

    return asyncio.run(run())


def with_anthropic(llm: FakeLLM, use: Callable[[anthropic.AsyncAnthropic], Awaitable[T]]) -> T:
    async def run() -> T:
        async with anthropic.AsyncAnthropic(base_url=llm.url, api_key="x", max_retries=0) as client:
            return await use(client)

    return asyncio.run(run())


def test_openai_chat_completion_plain_and_streamed_give_the_same_text(llm: FakeLLM) -> None:
    async def use(client: openai.AsyncOpenAI) -> tuple[Any, list[Any]]:
        plain = await client.chat.completions.create(model="fake-1", messages=USER)
        stream = await client.chat.completions.create(
            model="fake-1", messages=USER, stream=True, stream_options={"include_usage": True}
        )
        return plain, [chunk async for chunk in stream]

    before = llm.stats()
    plain, chunks = with_openai(llm, use)
    text = plain.choices[0].message.content
    assert text == f"(fake answer after 0.010 s) {QUESTION}"
    assert plain.choices[0].finish_reason == "stop"
    assert plain.usage is not None
    assert plain.usage.prompt_tokens == len(QUESTION.split())
    deltas = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert len([d for d in deltas if d]) > 1  # the text arrives in pieces
    assert "".join(deltas) == text
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    finished = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finished[-1] == "stop"
    assert set(finished[:-1]) == {None}
    assert chunks[-1].choices == []
    assert chunks[-1].usage == plain.usage
    after = llm.stats()
    assert (after.requests - before.requests, after.streams - before.streams) == (2, 1)


def test_openai_chat_stream_helper_assembles_the_final_completion(llm: FakeLLM) -> None:
    async def use(client: openai.AsyncOpenAI) -> str | None:
        async with client.chat.completions.stream(model="fake-1", messages=USER) as stream:
            final = await stream.get_final_completion()
        return final.choices[0].message.content

    assert with_openai(llm, use) == f"(fake answer after 0.010 s) {QUESTION}"


def test_openai_max_tokens_cuts_the_answer_with_finish_reason_length(llm: FakeLLM) -> None:
    async def use(client: openai.AsyncOpenAI) -> Any:
        return await client.chat.completions.create(model="fake-1", messages=USER, max_tokens=3)

    reply = with_openai(llm, use)
    assert reply.choices[0].message.content == "(fake answer after "
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 3


def test_openai_models_list_and_retrieve(llm: FakeLLM) -> None:
    async def use(client: openai.AsyncOpenAI) -> tuple[list[str], str]:
        names = [model.id async for model in client.models.list()]
        return names, (await client.models.retrieve("fake-1")).id

    assert with_openai(llm, use) == (["fake-1"], "fake-1")


def test_openai_responses_plain_and_streamed(llm: FakeLLM) -> None:
    async def use(client: openai.AsyncOpenAI) -> tuple[Any, list[Any], Any]:
        plain = await client.responses.create(
            model="fake-1", input=QUESTION, instructions="Be brief."
        )
        stream = await client.responses.create(model="fake-1", input=USER, stream=True)
        events = [event async for event in stream]
        async with client.responses.stream(model="fake-1", input=QUESTION) as helper:
            final = await helper.get_final_response()
        return plain, events, final

    plain, events, final = with_openai(llm, use)
    assert plain.output_text == f"(fake answer after 0.010 s) {QUESTION}"
    assert plain.status == "completed"
    assert plain.usage.input_tokens == len(QUESTION.split()) + 2  # the instructions count too
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == plain.output_text
    assert events[-1].response.output_text == plain.output_text
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert final.output_text == plain.output_text


def test_the_openai_sdk_works_with_the_bare_host_too(llm: FakeLLM) -> None:
    async def use(client: openai.AsyncOpenAI) -> str | None:
        reply = await client.chat.completions.create(model="fake-1", messages=USER)
        return reply.choices[0].message.content

    assert with_openai(llm, use, path="") == f"(fake answer after 0.010 s) {QUESTION}"


def test_anthropic_messages_plain_and_streamed_give_the_same_text(llm: FakeLLM) -> None:
    async def use(client: anthropic.AsyncAnthropic) -> tuple[Any, str, Any, list[str]]:
        plain = await client.messages.create(
            model="fake-1", max_tokens=100, system="Be brief.", messages=USER
        )
        async with client.messages.stream(model="fake-1", max_tokens=100, messages=USER) as s:
            pieces = [text async for text in s.text_stream]
            final = await s.get_final_message()
        raw = await client.messages.create(
            model="fake-1", max_tokens=100, messages=USER, stream=True
        )
        return plain, "".join(pieces), final, [event.type async for event in raw]

    plain, streamed, final, kinds = with_anthropic(llm, use)
    text = f"(fake answer after 0.010 s) {QUESTION}"
    assert plain.content[0].type == "text"
    assert plain.content[0].text == text
    assert plain.stop_reason == "end_turn"
    assert plain.usage.input_tokens == len(QUESTION.split()) + 2  # the system prompt counts too
    assert plain.usage.output_tokens == len(text.split())
    assert streamed == text
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert kinds.count("content_block_delta") == len(text.split())


def test_anthropic_max_tokens_stops_with_stop_reason_max_tokens(llm: FakeLLM) -> None:
    async def use(client: anthropic.AsyncAnthropic) -> Any:
        return await client.messages.create(model="fake-1", max_tokens=2, messages=USER)

    reply = with_anthropic(llm, use)
    assert reply.content[0].text == "(fake answer "
    assert reply.stop_reason == "max_tokens"


def test_anthropic_models_list(llm: FakeLLM) -> None:
    async def use(client: anthropic.AsyncAnthropic) -> list[str]:
        return [model.id async for model in client.models.list()]

    assert with_anthropic(llm, use) == ["fake-1"]


def test_a_wrong_base_url_is_a_404_that_names_the_right_one(llm: FakeLLM) -> None:
    async def use() -> str:
        client = anthropic.AsyncAnthropic(base_url=f"{llm.url}/v1", api_key="x", max_retries=0)
        async with client:
            with pytest.raises(anthropic.NotFoundError) as caught:
                await client.messages.create(model="fake-1", max_tokens=5, messages=USER)
        return str(caught.value)

    message = asyncio.run(use())
    assert "/v1/v1/messages" in message
    assert "Anthropic SDK: base_url='http://HOST:PORT'" in message


def test_a_bad_request_is_the_sdks_bad_request_error(llm: FakeLLM) -> None:
    async def use(client: openai.AsyncOpenAI) -> str:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model="fake-1", messages=[])
        return str(caught.value)

    assert "'messages' must be a non-empty list" in with_openai(llm, use)


def test_an_sdk_request_names_its_latency_with_extra_query(llm: FakeLLM) -> None:
    async def use(client: openai.AsyncOpenAI) -> str | None:
        reply = await client.chat.completions.create(
            model="fake-1", messages=USER, extra_query={"latency": 0.02}
        )
        return reply.choices[0].message.content

    assert with_openai(llm, use) == f"(fake answer after 0.020 s) {QUESTION}"


def test_a_request_can_ask_to_fail_and_the_sdk_retries_it_max_retries_times(
    llm: FakeLLM,
) -> None:
    async def use() -> str:
        client = openai.AsyncOpenAI(
            base_url=f"{llm.url}/v1", api_key="x", max_retries=1, default_query={"status": "503"}
        )
        async with client:
            with pytest.raises(openai.InternalServerError) as caught:
                await client.chat.completions.create(model="fake-1", messages=USER)
        return str(caught.value)

    before = llm.stats()
    assert "?status=503" in asyncio.run(use())
    after = llm.stats()
    assert after.failed - before.failed == 2  # the call and its one SDK retry
    assert after.requests == before.requests

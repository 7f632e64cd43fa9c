"""The fake LLM server over plain HTTP: the OpenAI and Anthropic shapes and wire format, fixed
and heavy-tailed latencies, and counters that prove requests overlapped (no timing is asserted:
latencies are read from the server). tests/unit/test_fake_llm_sdks.py uses the real SDKs."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bus.demo.fake_llm import FakeLLM, Latency

ROOT = Path(__file__).resolve().parents[1]
CHAT = "/v1/chat/completions"


def _ask(content: str = "What is the bus?") -> dict[str, object]:
    return {"model": "fake-1", "messages": [{"role": "user", "content": content}]}


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM(latency=0.01, seed=7) as server:
        yield server


def test_a_chat_completion_has_the_openai_shape(llm: FakeLLM) -> None:
    reply = httpx.post(f"{llm.url}{CHAT}", json=_ask("ship it?"), timeout=10)
    assert reply.status_code == 200
    body = reply.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "fake-1"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert "ship it?" in choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    assert body["usage"]["total_tokens"] > 0


def test_the_default_latency_is_fixed_and_a_request_can_name_its_own(llm: FakeLLM) -> None:
    with httpx.Client(base_url=llm.url, timeout=10) as client:
        default = [client.post(CHAT, json=_ask()).json()["latency"] for _ in range(3)]
        named = client.post(f"{CHAT}?latency=0.02", json=_ask()).json()["latency"]
    assert default == [0.01, 0.01, 0.01]
    assert named == 0.02
    stats = llm.stats()
    assert stats.requests == 4
    assert stats.latency_total == pytest.approx(0.05)


def test_heavy_tailed_latencies_are_seeded_capped_and_spread() -> None:
    latency = Latency(median=0.2, sigma=1.0, cap=2.0)
    rng_a, rng_b = random.Random(3), random.Random(3)
    draws = [latency.sample(rng_a) for _ in range(2000)]
    assert draws == [latency.sample(rng_b) for _ in range(2000)]  # same seed, same sequence
    assert max(draws) == 2.0  # the cap binds: sigma 1 puts ~1% past 10x the median
    ordered = sorted(draws)
    assert 0.15 < ordered[1000] < 0.27  # the median is near the one asked for
    assert ordered[1980] > 5 * ordered[1000]  # a heavy tail: p99 well above the median
    assert 0.2 < latency.mean() < 0.4


def test_a_request_can_ask_for_a_heavy_tailed_latency(llm: FakeLLM) -> None:
    with httpx.Client(base_url=llm.url, timeout=10) as client:
        served = [
            client.post(f"{CHAT}?median=0.001&sigma=1.5&cap=0.02", json=_ask()).json()["latency"]
            for _ in range(30)
        ]
    assert len(set(served)) > 1
    assert max(served) <= 0.02


def test_a_keyed_request_gets_the_latency_of_its_key_in_every_run() -> None:
    latency = Latency(median=0.001, sigma=1.0, cap=0.01)
    served: list[list[float]] = []
    for _ in range(2):  # two servers, the keys asked in opposite orders
        with FakeLLM(latency=latency, seed=5) as llm, httpx.Client(base_url=llm.url) as client:
            keys = [f"llm-{i:03d}/1" for i in range(10)]
            order = keys if not served else keys[::-1]
            got = {k: client.post(f"{CHAT}?key={k}", json=_ask()).json()["latency"] for k in order}
            served.append([got[k] for k in keys])
    assert served[0] == served[1]
    assert served[0] == [round(latency.for_key(5, key), 6) for key in keys]
    assert len(set(served[0])) > 1


def test_fifty_concurrent_requests_are_in_flight_at_once() -> None:
    # A latency far above the time 50 requests take to send: all of them wait together.
    with FakeLLM(latency=2.0) as llm:

        async def ask_all() -> list[int]:
            limits = httpx.Limits(max_connections=None)
            async with httpx.AsyncClient(base_url=llm.url, limits=limits, timeout=30) as client:
                replies = await asyncio.gather(*(client.post(CHAT, json=_ask()) for _ in range(50)))
            return [reply.status_code for reply in replies]

        assert asyncio.run(ask_all()) == [200] * 50
        stats = httpx.get(f"{llm.url}/stats", timeout=10).json()
    assert stats["requests"] == 50
    assert stats["max_in_flight"] == 50
    assert stats["in_flight"] == 0


def test_bad_requests_get_an_error_in_the_openai_shape(llm: FakeLLM) -> None:
    with httpx.Client(base_url=llm.url, timeout=10) as client:
        assert client.post(CHAT, json={"messages": []}).status_code == 400
        assert client.post(CHAT, content=b"not json").status_code == 400
        assert client.post(f"{CHAT}?latency=soon", json=_ask()).status_code == 400
        assert client.post(f"{CHAT}?median=1&cap=0.5", json=_ask()).status_code == 400
        assert client.post(f"{CHAT}?status=200", json=_ask()).status_code == 400
        assert client.get(CHAT).status_code == 405
        missing = client.post("/v1/embeddings", json=_ask())
    assert missing.status_code == 404
    assert "embeddings" in missing.json()["error"]["message"]
    assert llm.stats().errors == 7
    assert llm.stats().requests == 0


def test_stats_reset_zeroes_the_counters(llm: FakeLLM) -> None:
    httpx.post(f"{llm.url}{CHAT}", json=_ask(), timeout=10)
    reset = httpx.post(f"{llm.url}/stats/reset", timeout=10).json()
    assert reset["requests"] == 0
    assert llm.stats().requests == 0


@pytest.mark.slow
def test_python_m_bus_fake_llm_serves_until_sigterm() -> None:
    command = [sys.executable, "-m", "bus.demo.fake_llm", "--port", "0", "--latency", "0.01"]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("fake LLM on http://127.0.0.1:")
        url = line.split(" on ", 1)[1].strip()
        reply = httpx.post(f"{url}{CHAT}", json=_ask("hello"), timeout=10)
        assert "hello" in reply.json()["choices"][0]["message"]["content"]
    finally:
        server.terminate()
        assert server.wait(10) == 0


def test_a_chat_stream_is_server_sent_events_ending_with_done(llm: FakeLLM) -> None:
    ask = _ask("stream me") | {"stream": True}
    with httpx.stream("POST", f"{llm.url}{CHAT}", json=ask, timeout=10) as reply:
        assert reply.headers["content-type"] == "text/event-stream"
        assert reply.headers["transfer-encoding"] == "chunked"
        lines = [line for line in reply.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert text == "(fake answer after 0.010 s) stream me"
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks][-2:] == [None, "stop"]
    assert llm.stats().streams == 1


def test_anthropic_streams_name_each_event(llm: FakeLLM) -> None:
    ask = _ask("hi") | {"stream": True, "max_tokens": 50}
    with httpx.stream("POST", f"{llm.url}/v1/messages", json=ask, timeout=10) as reply:
        lines = [line for line in reply.iter_lines() if line]
    names = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    data = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    assert names == [event["type"] for event in data]
    assert names[0] == "message_start"
    assert names[-1] == "message_stop"


def test_openai_paths_answer_with_and_without_v1_and_a_404_names_what_is_served(
    llm: FakeLLM,
) -> None:
    with httpx.Client(base_url=llm.url, timeout=10) as client:
        assert client.post("/chat/completions", json=_ask()).status_code == 200
        assert client.get("/models").json()["data"][0]["id"] == "fake-1"
        assert client.get("/v1/models/fake-1").json()["object"] == "model"
        assert client.get("/v1/models/gpt-9").status_code == 404
        assert client.post("/v1/models").status_code == 405
        missing = client.post("/v1/completions", json=_ask())
    assert missing.status_code == 404
    message = missing.json()["error"]["message"]
    for served in ("/v1/chat/completions", "/v1/responses", "/v1/messages", "/v1/models"):
        assert served in message
    assert "base_url='http://HOST:PORT/v1'" in message


def test_anthropic_messages_need_max_tokens_as_the_real_api_does(llm: FakeLLM) -> None:
    reply = httpx.post(f"{llm.url}/v1/messages", json=_ask(), timeout=10)
    assert reply.status_code == 400
    assert reply.json()["error"]["message"] == "max_tokens: Field required"

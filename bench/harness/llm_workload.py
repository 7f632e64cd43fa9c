"""The LLM-shaped workload's constants, shared by the hosted agents and the asyncio peer (which
must not import the bus: its RSS is the plain model's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

LLM_CHANNEL = "#llm"
ISO_CHANNEL = "#iso"
MAX_AGENTS = 200
LLM_AGENTS = tuple(f"llm-{index:03d}" for index in range(MAX_AGENTS))
#: Seconds a slow isolation handler takes.
SLOW_SECONDS = 0.05
#: Connections a shared client may hold: one per agent awaiting at once (httpx's default of
#: 100 would cap 200 agents at half their rate).
LIMITS = httpx.Limits(max_connections=MAX_AGENTS + 56, max_keepalive_connections=MAX_AGENTS + 56)


def chat_body(content: str) -> dict[str, object]:
    """The chat-completions request every agent sends."""
    return {"model": "fake-1", "messages": [{"role": "user", "content": content}]}


def request_key(agent: str, seq: int) -> str:
    """The fake LLM's key of ``agent``'s request for message ``seq``: the same key gets the
    same latency in the hosted run, in the peer's, and in the case's arithmetic
    (``Latency.for_key``)."""
    return f"{agent}/{seq}"


def chat_path(agent: str, seq: int) -> str:
    """The request path of ``agent``'s run for message ``seq`` (keyed)."""
    return f"/v1/chat/completions?key={request_key(agent, seq)}"


#: ``BENCH_LLM_CLIENT`` value of handlers that await a sleep as long as the fake LLM would take
#: (``BENCH_SLEEP``: :func:`sleep_spec`) instead of calling it: the runtime alone, no client.
SLEEP_MODE = "sleep"


def sleep_spec(median: float, sigma: float, cap: float, seed: int) -> str:
    """``BENCH_SLEEP`` (and the peer's ``--sleep``): the fake LLM's latency and seed."""
    return f"{median},{sigma},{cap},{seed}"


def sleeper(spec: str) -> Callable[[str, int], float]:
    """Seconds ``agent``'s request for message ``seq`` would wait on the fake LLM started with
    ``spec`` (:func:`sleep_spec`): the same keyed draw (``Latency.for_key``)."""
    # Imported here: the peer imports the bus (for its Latency) only in this mode.
    from bus.demo.fake_llm import Latency

    median, sigma, cap, seed = spec.split(",")
    latency = Latency(float(median), float(sigma), float(cap))
    return lambda agent, seq: latency.for_key(int(seed), request_key(agent, seq))


#: ``BENCH_LLM_CLIENT`` values that call the fake LLM through the OpenAI SDK: its default
#: transport (httpx) and its aiohttp transport (``openai[aiohttp]``).
SDK_MODES = ("openai", "openai-aiohttp")


def sdk_client(base_url: str, mode: str) -> Any:
    """An ``AsyncOpenAI`` on the fake LLM as an agent would make one (no retries, so a failure
    shows instead of being hidden by a retry), on the transport ``mode`` names."""
    from openai import AsyncOpenAI, DefaultAioHttpClient

    http_client = DefaultAioHttpClient() if mode == "openai-aiohttp" else None
    return AsyncOpenAI(
        base_url=f"{base_url.rstrip('/')}/v1",
        api_key="fake",
        max_retries=0,
        timeout=120,
        http_client=http_client,
    )

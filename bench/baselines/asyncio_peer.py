"""The peer row: the same LLM agents on a plain asyncio loop in one process, the reference
in-process asyncio bus model: one ``asyncio.Queue`` per agent, one task per agent consuming its
queue in order, every handler awaiting the fake LLM through ONE shared ``httpx.AsyncClient``.

Runs as its own process so its RSS is its own (``python -m bench.baselines.asyncio_peer
--agents 20 --messages 10 --url http://127.0.0.1:8089``); prints one JSON object: the runs (as
:data:`bench.harness.runs.RunRecord`), t0, t_end, rss_mb.

``--client raw`` swaps httpx for a bare keep-alive HTTP/1.1 connection per agent (asyncio
streams): the same model without the client's own cost. httpx's connection pool does work per
request that grows with the connections it holds (httpcore's ``_assign_requests_to_connections``
scans them all), which is what separates the two rows at 200 agents. ``--client openai`` and
``--client openai-aiohttp`` call through one ``AsyncOpenAI`` on the SDK's default (httpx) or
aiohttp transport (case ``sdk``). ``--client sleep --sleep MEDIAN,SIGMA,CAP,SEED`` calls
nothing: each handler awaits a sleep as long as the fake LLM would take (the loop alone).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.harness.llm_workload import (
    LIMITS,
    LLM_AGENTS,
    SDK_MODES,
    SLEEP_MODE,
    chat_body,
    chat_path,
    sdk_client,
    sleeper,
)

Ask = Callable[[str, str], Awaitable[str]]


class RawConnection:
    """One keep-alive HTTP/1.1 connection to the fake LLM, one request at a time."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def ask(self, path: str, content: str) -> str:
        """POST a chat completion; returns the answer's content."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        body = json.dumps(chat_body(content)).encode()
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        length = next(
            int(line.split(":", 1)[1])
            for line in head.split("\r\n")
            if line.lower().startswith("content-length:")
        )
        data = await reader.readexactly(length)
        if not head.startswith("HTTP/1.1 200"):
            raise RuntimeError(f"the fake LLM answered {head.splitlines()[0]!r}")
        answer: str = json.loads(data)["choices"][0]["message"]["content"]
        return answer

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()


def _sdk_asker(sdk: Any) -> Ask | None:
    """An ``ask`` through the OpenAI SDK client ``sdk`` (the key rides as a query parameter,
    as in ``chat_path``), or ``None`` without one."""
    if sdk is None:
        return None

    async def ask(path: str, content: str) -> str:
        completion = await sdk.chat.completions.create(
            model="fake-1",
            messages=[{"role": "user", "content": content}],
            extra_query={"key": path.split("key=", 1)[1]},
        )
        answer: str = completion.choices[0].message.content
        return answer

    return ask


def _sleep_asker(spec: str | None) -> Ask:
    """An ``ask`` that sends nothing: it sleeps as long as the fake LLM started with ``spec``
    would take to answer the request ``path`` names."""
    if not spec:
        raise ValueError("--client sleep needs --sleep")
    sleep_for = sleeper(spec)

    async def ask(path: str, content: str) -> str:
        agent, seq = path.split("key=", 1)[1].rsplit("/", 1)
        await asyncio.sleep(sleep_for(agent, int(seq)))
        return ""

    return ask


async def run(
    agents: int,
    messages: int,
    url: str,
    seconds: float,
    client: str = "httpx",
    sleep: str | None = None,
) -> dict[str, object]:
    """Publish ``messages`` to every agent's queue at once; wait for all runs or ``seconds``
    (``client`` ``sleep``: each run awaits a sleep drawn as ``sleep`` says, no request)."""
    queues: list[asyncio.Queue[tuple[int, float, str]]] = [asyncio.Queue() for _ in range(agents)]
    runs: list[tuple[str, int, float, float, float]] = []  # runs.RunRecord
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=LIMITS) as shared:

        async def shared_ask(path: str, content: str) -> str:
            reply = await shared.post(path, json=chat_body(content))
            reply.raise_for_status()
            answer: str = reply.json()["choices"][0]["message"]["content"]
            return answer

        sdk = sdk_client(url, client) if client in SDK_MODES else None
        sdk_ask = _sdk_asker(sdk)
        sleep_ask = _sleep_asker(sleep) if client == SLEEP_MODE else None

        async def consume(name: str, queue: asyncio.Queue[tuple[int, float, str]]) -> None:
            own = RawConnection(url) if client == "raw" else None
            ask: Ask = own.ask if own is not None else sdk_ask or sleep_ask or shared_ask
            try:
                while True:
                    seq, sent, content = await queue.get()
                    started = time.time()
                    await ask(chat_path(name, seq), content)
                    runs.append((name, seq, sent, started, time.time()))
                    queue.task_done()
            finally:
                if own is not None:
                    own.close()

        tasks = [
            asyncio.create_task(consume(LLM_AGENTS[index], queue))
            for index, queue in enumerate(queues)
        ]
        t0 = time.time()
        for seq in range(1, messages + 1):
            sent = time.time()
            for queue in queues:
                queue.put_nowait((seq, sent, f"question {seq}"))
        try:
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in queues)), seconds)
            t_end = max(record[4] for record in runs)
        except TimeoutError:
            t_end = time.time()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if sdk is not None:
            await sdk.close()
    return {"runs": runs, "t0": t0, "t_end": t_end, "rss_mb": _rss_mb()}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--client", choices=("httpx", "raw", SLEEP_MODE, *SDK_MODES), default="httpx"
    )
    parser.add_argument("--sleep", help="MEDIAN,SIGMA,CAP,SEED of --client sleep")
    args = parser.parse_args()
    if args.client == SLEEP_MODE and not args.sleep:
        parser.error("--client sleep needs --sleep")
    result = asyncio.run(
        run(args.agents, args.messages, args.url, args.seconds, args.client, args.sleep)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

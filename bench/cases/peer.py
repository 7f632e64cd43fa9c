"""The peer row: the same LLM agents on a plain asyncio loop in one process, the reference
in-process asyncio bus model: one ``asyncio.Queue`` per agent, one task per agent consuming its
queue in order, every handler awaiting the fake LLM through ONE shared ``httpx.AsyncClient``.

Runs as its own process so its RSS is its own:
``python -m bench.cases.peer --agents 20 --messages 10 --url http://127.0.0.1:8089``; prints one
JSON object: the runs (as :data:`bench.cases.measure.RunRecord`), t0, t_end, rss_mb.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import httpx

from bench.cases.workload import LIMITS, LLM_AGENTS, chat_body


async def run(agents: int, messages: int, url: str, seconds: float) -> dict[str, object]:
    """Publish ``messages`` to every agent's queue at once; wait for all runs or ``seconds``."""
    queues: list[asyncio.Queue[tuple[int, float, str]]] = [asyncio.Queue() for _ in range(agents)]
    runs: list[tuple[str, int, float, float, float]] = []  # measure.RunRecord
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=LIMITS) as client:

        async def consume(name: str, queue: asyncio.Queue[tuple[int, float, str]]) -> None:
            while True:
                seq, sent, content = await queue.get()
                started = time.time()
                reply = await client.post("/v1/chat/completions", json=chat_body(content))
                reply.raise_for_status()
                runs.append((name, seq, sent, started, time.time()))
                queue.task_done()

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
    args = parser.parse_args()
    result = asyncio.run(run(args.agents, args.messages, args.url, args.seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

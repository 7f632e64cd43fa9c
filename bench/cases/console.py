"""Case ``console``: the live console (issue 19). Publish-to-browser latency, p50 over every
(message, stream) pair, with 50 event streams open on one channel (the streams are httpx
clients reading server-sent events, as a browser's EventSource does); and the time to the first
render of a channel holding 10,000 messages (the whole HTML page of its newest messages, over
HTTP). The baselines are the issue's limits: a message on the open page within a second, a
first render within a second."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable

import httpx

from bench.cases.base import CaseArgs, Figure
from bench.common import bus_settings
from bus import Bus
from bus.console import create_app
from bus.names import encode_channel
from bus.testing.asgi_thread import served

#: Open event streams; messages in the long channel; the issue's limits (milliseconds).
STREAMS, LONG, LIMIT_MS = 50, 10_000, 1000.0
CHANNEL = "#console-bench"


class ConsoleCase:
    """The console's two figures on one transport."""

    name = "console"
    group = "console"

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        messages = 20 if args.quick else 100
        long = 1_000 if args.quick else LONG
        with Bus(bus_settings(transport, args.run.ns("console"))) as bus:
            try:
                bus.create_channel(CHANNEL)
                with served(create_app(bus)) as url:
                    return [
                        self._latency(bus, url, transport, messages),
                        self._first_render(bus, url, transport, long),
                    ]
            finally:
                bus.destroy()

    def _latency(self, bus: Bus, url: str, transport: str, messages: int) -> Figure:
        head = bus.get_channel(CHANNEL).last_seq
        streams = _Streams(f"{url}/c/{encode_channel(CHANNEL)}/events?after={head}")
        seen = streams.seen
        published: dict[int, float] = {}
        for n in range(messages):
            started = time.perf_counter()
            seq = bus.publish(CHANNEL, f"latency {n}", sender="bench").seq or 0
            published[seq] = started
            deadline = time.monotonic() + 10
            while len(seen.get(seq, ())) < STREAMS and time.monotonic() < deadline:
                time.sleep(0.001)
        streams.stop(lambda: bus.publish(CHANNEL, "the end", sender="bench"))
        samples = sorted(
            (arrived - published[seq]) * 1000
            for seq, arrivals in seen.items()
            if seq in published
            for arrived in arrivals
        )
        return Figure.against(
            f"console_publish_to_stream_p50_ms_{STREAMS}_streams",
            statistics.median(samples),
            "ms",
            transport,
            baseline=f"limit {LIMIT_MS:g} ms",
            baseline_value=LIMIT_MS,
            n=len(samples),
            target=1.0,
            extra={
                "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3),
                "streams": STREAMS,
                "missing": messages * STREAMS - len(samples),
            },
        )

    def _first_render(self, bus: Bus, url: str, transport: str, long: int) -> Figure:
        channel = "#console-long"
        bus.create_channel(channel)
        for n in range(long):
            bus.publish(channel, f"message {n} of a long channel", sender="bench")
        page = f"{url}/c/{encode_channel(channel)}"
        samples = []
        with httpx.Client() as client:
            client.get(page)  # the session cookie, the templates compiled
            for _ in range(5):
                started = time.perf_counter()
                response = client.get(page)
                response.raise_for_status()
                samples.append((time.perf_counter() - started) * 1000)
        return Figure.against(
            f"console_first_render_ms_{long}_messages",
            statistics.median(samples),
            "ms",
            transport,
            baseline=f"limit {LIMIT_MS:g} ms",
            baseline_value=LIMIT_MS,
            n=long,
            target=1.0,
            extra={"bytes": len(response.content), "runs": [round(s, 1) for s in samples]},
        )


class _Streams:
    """:data:`STREAMS` event streams read by httpx in a thread of their own; ``seen[seq]`` is
    when each stream got message ``seq`` (``perf_counter``)."""

    def __init__(self, events: str) -> None:
        self.events = events
        self.seen: dict[int, list[float]] = {}
        self._opened: list[int] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._all(),), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while len(self._opened) < STREAMS and time.monotonic() < deadline:
            time.sleep(0.01)

    async def _follow(self, client: httpx.AsyncClient) -> None:
        async with client.stream("GET", self.events) as response:
            self._opened.append(1)
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    self.seen.setdefault(int(line[4:]), []).append(time.perf_counter())
                if self._done.is_set():
                    return

    async def _all(self) -> None:
        async with httpx.AsyncClient(timeout=None) as client:
            tasks = [asyncio.create_task(self._follow(client)) for _ in range(STREAMS)]
            while not self._done.is_set():
                await asyncio.sleep(0.05)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self, wake: Callable[[], object]) -> None:
        """Stop reading; ``wake`` (a publish) gets every stream a line to notice it."""
        self._done.set()
        wake()
        self._thread.join(10)


CASE = ConsoleCase()

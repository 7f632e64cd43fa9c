"""The in-process peer of ``memory://``: a plain asyncio bus, the reference's model (one
``asyncio.Queue`` per subscriber, a publish puts the message on each subscriber's queue, a
receive awaits its queue), with no store, no order beyond the queue's, no guard and nothing
kept. It imports nothing of bus: it is what bus on ``memory://`` is set against (case ``peer``).

Each measurement runs on a fresh event loop in the calling thread: publishers and receivers are
tasks of that one loop, as in a program built on such a bus.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from bench.common import payload, percentile


@dataclass(frozen=True)
class PeerMessage:
    """A message of the peer bus (a frozen record, as a typical asyncio bus hands out)."""

    channel: str
    sender: str
    content: str
    seq: int


@dataclass
class PeerBus:
    """Channels of subscribers, one queue per subscriber."""

    members: dict[str, list[str]] = field(default_factory=dict)
    queues: dict[str, asyncio.Queue[PeerMessage]] = field(default_factory=dict)
    heads: dict[str, int] = field(default_factory=dict)

    def subscribe(self, agent: str, channel: str) -> None:
        self.queues.setdefault(agent, asyncio.Queue())
        self.members.setdefault(channel, []).append(agent)

    def publish(self, channel: str, content: str, sender: str) -> PeerMessage:
        seq = self.heads[channel] = self.heads.get(channel, 0) + 1
        message = PeerMessage(channel, sender, content, seq)
        for agent in self.members.get(channel, ()):
            self.queues[agent].put_nowait(message)
        return message

    async def receive(self, agent: str) -> PeerMessage:
        return await self.queues[agent].get()


async def _drained(bus: PeerBus, agents: list[str], messages: int, channel: str) -> float:
    """Publish ``messages`` to ``channel`` (yielding to the loop after each, as an awaited
    publish would) while a task per agent receives them; seconds first publish to last."""

    async def drain(agent: str) -> None:
        for _ in range(messages):
            await bus.receive(agent)

    tasks = [asyncio.create_task(drain(agent)) for agent in agents]
    text = payload()
    started = time.perf_counter()
    for _ in range(messages):
        bus.publish(channel, text, "bench")
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return time.perf_counter() - started


def pull(messages: int) -> float:
    """Deliveries/s: ``messages`` published to a channel of 2 members, each drained by a task
    (as ``bus_pull``)."""

    async def main() -> float:
        bus = PeerBus()
        for agent in ("agent-1", "agent-2"):
            bus.subscribe(agent, "#bench")
        await _drained(bus, ["agent-1", "agent-2"], 1, "#bench")  # warm-up, as bus_pull's
        return 2 * messages / await _drained(bus, ["agent-1", "agent-2"], messages, "#bench")

    return asyncio.run(main())


def fanout(messages: int, size: int) -> float:
    """Deliveries/s: ``messages`` published to a channel of ``size`` members."""

    async def main() -> float:
        bus = PeerBus()
        agents = [f"fan{size}-{index}" for index in range(size)]
        for agent in agents:
            bus.subscribe(agent, "#fan")
        return messages * size / await _drained(bus, agents, messages, "#fan")

    return asyncio.run(main())


def latency(samples: int) -> dict[str, Any]:
    """Publish-to-receive milliseconds, one message at a time: p50, p90, p99."""

    async def main() -> list[float]:
        bus = PeerBus()
        bus.subscribe("listener", "#latency")
        values: list[float] = []
        text = payload()
        for index in range(samples + 5):
            waiting = asyncio.create_task(bus.receive("listener"))
            await asyncio.sleep(0)  # the receiver waits, as bus's listener thread does
            start = time.perf_counter()
            bus.publish("#latency", text, "bench")
            await waiting
            if index >= 5:
                values.append((time.perf_counter() - start) * 1000)
        return values

    values = asyncio.run(main())
    return {name: percentile(values, q) for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))}

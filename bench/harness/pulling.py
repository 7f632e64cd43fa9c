"""The bus's pull side, driven from threads: the buses of a publisher and its receiving threads,
receivers that drain agents with :meth:`bus.Bus.receive`, and a timed publish-and-drain. The
cases ``pull``, ``latency`` and ``fanout`` measure with them.

On memory:// every thread shares one Bus (its store lives in that Bus); on redis and amqp each
receiving thread has a Bus of its own, as separate agent processes would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bench.common import Drain, bus_settings, coalescing, payload
from bus import Bus

Receiver = Callable[[int, float], int]


@contextmanager
def buses(
    transport: str,
    namespace: str,
    readers: int,
    receive_batch: int = 1,
    coalesce: bool | None = None,
) -> Iterator[tuple[Bus, list[Bus]]]:
    """A publishing bus and ``readers`` buses for receiving threads; destroyed afterwards
    (``coalesce``: ``BUS_COALESCE_DELIVERIES`` if not None, else the default)."""
    # Retention holds a whole run: receivers that fall further behind than retention would skip
    # what was trimmed (by design), and the publisher here runs ahead of them.
    settings = bus_settings(
        transport,
        namespace,
        retention_max_messages=100_000,
        receive_batch=receive_batch,
        **coalescing(coalesce),
    )
    main = Bus(settings).start()
    others: list[Bus] = []
    try:
        if transport == "memory":
            others = [main] * readers
        else:
            for _ in range(readers):
                others.append(Bus(settings).start())
        yield main, others
    finally:
        for other in others:
            if other is not main:
                other.stop()
        if not main.started:
            main.start()
        main.destroy()


def drainer(bus: Bus, agents: list[str]) -> Receiver:
    """A receiver taking messages for ``agents`` in turn until it has ``expected`` in all."""
    if len(agents) == 1:
        agent = agents[0]

        def one(expected: int, deadline: float) -> int:
            got = 0
            while got < expected and time.monotonic() < deadline:
                if bus.receive(agent, timeout=0.5) is not None:
                    got += 1
            return got

        return one

    def many(expected: int, deadline: float) -> int:
        got = 0
        while got < expected and time.monotonic() < deadline:
            before = got
            for agent in agents:
                while bus.receive(agent, timeout=0) is not None:
                    got += 1
            if got == before:
                time.sleep(0.001)
        return got

    return many


def publish(bus: Bus, channel: str, count: int) -> None:
    """Publish ``count`` benchmark messages to ``channel``."""
    content = payload()
    for _ in range(count):
        bus.publish(channel, content, sender="bench")


def timed_drain(
    bus: Bus,
    channel: str,
    receivers: list[tuple[Receiver, int]],
    messages: int,
    per_receiver: Callable[[int], list[int]],
) -> tuple[float, float]:
    """Warm up with one message, then publish ``messages`` while receivers drain; returns
    (seconds first publish to last delivery, seconds publishing)."""
    fns = [fn for fn, _ in receivers]
    for count in (1, messages):
        with Drain(
            list(zip(fns, per_receiver(count), strict=True)), timeout=60 + count * len(fns) / 50
        ) as drain:
            publish(bus, channel, count)
            published = time.perf_counter() - drain.started
        drain.check()
    return drain.elapsed, published


def async_drainer(bus: Bus, agent: str) -> Receiver:
    """A receiver taking ``agent``'s messages with :meth:`bus.AsyncBus.receive` on an event loop
    of its own (in the receiver's thread), until it has ``expected``."""
    from bus import AsyncBus

    async def drain(expected: int, deadline: float) -> int:
        abus, got = AsyncBus(bus), 0  # the bus is started already: not started or stopped here
        while got < expected and time.monotonic() < deadline:
            if await abus.receive(agent, timeout=0.5) is not None:
                got += 1
        return got

    def one(expected: int, deadline: float) -> int:
        return asyncio.run(drain(expected, deadline))

    return one

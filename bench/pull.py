"""Figures 3-5, the bus's pull side: throughput to two agents, publish-to-receive latency and
fan-out to 1/10/100 subscribers, all drained with :meth:`bus.Bus.receive` in threads.

On memory:// every thread shares one Bus (its store lives in that Bus); on redis and amqp each
receiving thread has a Bus of its own, as separate agent processes would.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bench.common import Drain, Figure, Run, bus_settings, figure, payload, percentile
from bus import Bus

Receiver = Callable[[int, float], int]


@contextmanager
def buses(
    transport: str, namespace: str, readers: int, receive_batch: int = 1, coalesce: bool = False
) -> Iterator[tuple[Bus, list[Bus]]]:
    """A publishing bus and ``readers`` buses for receiving threads; destroyed afterwards."""
    # Retention holds a whole run: receivers that fall further behind than retention would skip
    # what was trimmed (by design), and the publisher here runs ahead of them.
    settings = bus_settings(
        transport,
        namespace,
        retention_max_messages=100_000,
        receive_batch=receive_batch,
        coalesce_deliveries=coalesce,
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


def _publish(bus: Bus, channel: str, count: int) -> None:
    content = payload()
    for _ in range(count):
        bus.publish(channel, content, sender="bench")


def _timed_drain(
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
            _publish(bus, channel, count)
            published = time.perf_counter() - drain.started
        drain.check()
    return drain.elapsed, published


def throughput(
    transport: str, run: Run, receive_batch: int = 1, coalesce: bool = False
) -> list[Figure]:
    """Figure 3: publish ``n`` to a channel with 2 members, each drained by its own thread
    (``receive_batch`` > 1: the figure ``bus_pull_batch<N>``, batches under a lease;
    ``coalesce``: ``bus_pull_coalesced``, one delivery per burst)."""
    n = run.n
    name = "bus_pull" if receive_batch == 1 else f"bus_pull_batch{receive_batch}"
    name += "_coalesced" if coalesce else ""
    namespace = run.ns(f"pull{receive_batch}{'c' if coalesce else ''}")
    with buses(transport, namespace, 2, receive_batch, coalesce) as (main, readers):
        main.create_channel("#bench")
        agents = ["agent-1", "agent-2"]
        for agent in agents:
            main.register_agent(agent, channels=["#bench"])
        receivers = [(drainer(bus, [agent]), 0) for bus, agent in zip(readers, agents, strict=True)]
        seconds, published = _timed_drain(main, "#bench", receivers, n, lambda c: [c, c])
    deliveries = 2 * n
    return [
        figure(
            transport,
            name,
            deliveries / seconds,
            "deliveries/s",
            n,
            deliveries=deliveries,
            seconds=round(seconds, 4),
            publish_seconds=round(published, 4),
            agents=2,
            receive_batch=receive_batch,
            coalesce_deliveries=coalesce,
        )
    ]


def latency(transport: str, run: Run, samples: int) -> list[Figure]:
    """Figure 4: publish one message at a time; publish call to ``receive`` returning."""
    with buses(transport, run.ns("lat"), 1) as (main, readers):
        main.create_channel("#latency")
        main.register_agent("listener", channels=["#latency"])
        arrivals: queue.Queue[float] = queue.Queue()
        stop = threading.Event()

        def listen() -> None:
            while not stop.is_set():
                if readers[0].receive("listener", timeout=0.5) is not None:
                    arrivals.put(time.perf_counter())

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        try:
            values: list[float] = []
            for index in range(samples + 5):
                start = time.perf_counter()
                main.publish("#latency", payload(), sender="bench")
                arrived = arrivals.get(timeout=30)
                if index >= 5:
                    values.append((arrived - start) * 1000)
        finally:
            stop.set()
            thread.join(5)
    return [
        figure(transport, f"bus_latency_{name}", percentile(values, q), "ms", samples)
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
    ]


def fanout(transport: str, run: Run, sizes: tuple[int, ...] = (1, 10, 100)) -> list[Figure]:
    """Figure 5: one channel with 1, 10, 100 members; about ``2n`` deliveries at each size."""
    figures: list[Figure] = []
    threads = 4
    with buses(transport, run.ns("fan"), threads) as (main, readers):
        for size in sizes:
            channel = f"#fan{size}"
            main.create_channel(channel)
            agents = [f"fan{size}-{index}" for index in range(size)]
            for agent in agents:
                main.register_agent(agent, channels=[channel])
            groups = [agents[index::threads] for index in range(min(threads, size))]
            receivers = [(drainer(readers[index], group), 0) for index, group in enumerate(groups)]
            messages = max(10, 2 * run.n // size)
            sizes_of = [len(group) for group in groups]

            def per_receiver(count: int, sizes_of: list[int] = sizes_of) -> list[int]:
                return [count * size for size in sizes_of]

            seconds, published = _timed_drain(main, channel, receivers, messages, per_receiver)
            deliveries = messages * size
            extra = {
                "subscribers": size,
                "messages": messages,
                "deliveries": deliveries,
                "seconds": round(seconds, 4),
                "publish_seconds": round(published, 4),
                "drain_threads": len(groups),
            }
            figures.append(
                figure(
                    transport,
                    f"fanout_{size}_us_per_delivery",
                    seconds / deliveries * 1e6,
                    "us",
                    messages,
                    **extra,
                )
            )
            figures.append(
                figure(
                    transport,
                    f"fanout_{size}_deliveries_per_s",
                    deliveries / seconds,
                    "deliveries/s",
                    messages,
                    **extra,
                )
            )
    return figures

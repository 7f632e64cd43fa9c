"""Figure 7: many agents. Time to register 1,000 agents each subscribed to 10 of 100
channels (one :meth:`bus.Bus.register_agents` call, then the same again, as a restarted worker
does), then the cost of a publish as a channel's membership grows (10, 100, 1,000)."""

from __future__ import annotations

import time

from bench.common import Figure, Run, bus_settings, figure, payload
from bus import Bus


def run(transport: str, run: Run) -> list[Figure]:
    agents = 50 if run.quick else 1000
    channels = 10 if run.quick else 100
    publishes = 5 if run.quick else 20
    sizes = [size for size in (10, 100, 1000) if size <= agents]
    figures: list[Figure] = []
    bus = Bus(bus_settings(transport, run.ns("scale"))).start()
    try:
        names = [f"#scale{index}" for index in range(channels)]
        for name in names:
            bus.create_channel(name)
        step = max(1, channels // 10)
        wanted = {
            f"s{index}": sorted({names[(index + k * step) % channels] for k in range(10)})
            for index in range(agents)
        }
        start = time.perf_counter()
        bus.register_agents(wanted)
        seconds = time.perf_counter() - start
        again = time.perf_counter()
        bus.register_agents(wanted)  # a worker's restart: everything exists already
        again_seconds = time.perf_counter() - again
        subscriptions = agents * min(10, channels)
        figures.append(
            figure(
                transport,
                "scale_register_subscribe_s",
                seconds,
                "s",
                agents,
                agents=agents,
                channels=channels,
                subscriptions=subscriptions,
                ms_per_agent=round(seconds / agents * 1000, 3),
                again_s=round(again_seconds, 3),
            )
        )
        content = payload()
        for size in sizes:
            channel = f"#members{size}"
            bus.create_channel(channel)
            bus.register_agents({f"s{index}": [channel] for index in range(size)})
            bus.publish(channel, content, sender="bench")  # warm caches
            start = time.perf_counter()
            for _ in range(publishes):
                bus.publish(channel, content, sender="bench")
            per = (time.perf_counter() - start) / publishes
            figures.append(
                figure(
                    transport,
                    f"scale_publish_ms_{size}_members",
                    per * 1000,
                    "ms",
                    publishes,
                    members=size,
                    us_per_delivery=round(per / size * 1e6, 2),
                )
            )
    finally:
        bus.destroy()
    return figures


def publish_coalesced(transport: str, run: Run) -> list[Figure]:
    """A publish to a channel of 1,000 busy members with coalesced deliveries: a delivery of
    theirs is outstanding (the first publish's), so the publish appends and wakes nobody."""
    size = 50 if run.quick else 1000
    publishes = 5 if run.quick else 20
    bus = Bus(bus_settings(transport, run.ns("scalec"), coalesce_deliveries=True)).start()
    try:
        channel = f"#members{size}"
        bus.create_channel(channel)
        bus.register_agents({f"s{index}": [channel] for index in range(size)})
        content = payload()
        start = time.perf_counter()
        bus.publish(channel, content, sender="bench")  # wakes every member: one delivery each
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(publishes):
            bus.publish(channel, content, sender="bench")
        per = (time.perf_counter() - start) / publishes
    finally:
        bus.destroy()
    return [
        figure(
            transport,
            f"scale_publish_ms_{size}_members_coalesced",
            per * 1000,
            "ms",
            publishes,
            members=size,
            first_publish_ms=round(first * 1000, 3),
            members_state="busy: a delivery of each outstanding",
        )
    ]

"""Case ``scale``: many agents. Registering 1,000 agents each subscribed to 10 of 100 channels
with one :meth:`bus.Bus.register_agents` call (at most 5 s), then the same again, as a
restarted worker does; a publish to channels of 10, 100 and 1,000 members (at most 10 ms at
1,000); with coalesced deliveries, the publish to 1,000 members that each have a delivery
outstanding (what a busy channel's publishes cost)."""

from __future__ import annotations

import time

from bench.cases.parts import Compare, PartsCase, Target
from bench.common import Record, Run, bus_settings, figure, payload
from bus import Bus


def register_and_publish(transport: str, run: Run) -> list[Record]:
    """Registering many agents (then again, as a restarted worker), then a publish to
    channels of 10, 100 and 1,000 members."""
    agents = 50 if run.quick else 1000
    channels = 10 if run.quick else 100
    publishes = 5 if run.quick else 20
    sizes = [size for size in (10, 100, 1000) if size <= agents]
    figures: list[Record] = []
    # Per message (a delivery to every member at each publish), as the figure always was: with
    # the default's coalescing, idle members keep their first delivery outstanding and every
    # later publish wakes none of them (that is ``publish_coalesced``'s figure).
    bus = Bus(bus_settings(transport, run.ns("scale"), coalesce_deliveries=False)).start()
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


def publish_coalesced(transport: str, run: Run) -> list[Record]:
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


CASE = PartsCase(
    "scale",
    "scale",
    (
        ("scale", lambda t, a: register_and_publish(t, a.run)),
        ("scale_coalesced", lambda t, a: publish_coalesced(t, a.run)),
    ),
    compare=(Compare("scale_publish_ms_1000_members", "scale_publish_ms_10_members"),),
    targets=(
        Target("scale_register_subscribe_s", {"*": 5.0}),
        Target("scale_publish_ms_1000_members", {"memory": 10.0, "redis": 10.0, "amqp": 50.0}),
    ),
)

"""Memory: the RSS of a process publishing many messages through a channel with retention
1,000 (``rss_*``, memory:// and Redis), and the Redis store's bytes per retained message
(``store_bytes_per_message``): ``MEMORY USAGE`` of a channel's log after N appends, over N,
with the ``INFO memory`` delta beside it (which also holds the one member's queued task
messages, and whatever the shared server's other clients did meanwhile)."""

from __future__ import annotations

from typing import Any

import redis

from bench import memory_rss
from bench.cases.base import CaseArgs
from bench.cases.parts import PartsCase
from bench.common import REDIS_URL, bus_settings, figure, payload
from bus import Bus, Retention
from bus.channels import Stream
from bus.store.redis.key_names import Keys


def _rss(transport: str, args: CaseArgs) -> list[dict[str, Any]]:
    if transport not in ("memory", "redis"):
        return []
    n = args.mem_messages or (2000 if args.quick else 200_000)
    # Redis publishes are ~5x slower than memory ones: a quarter of the messages keeps the
    # run's length bounded; the figure's n says how many were published.
    n = n if transport == "memory" else n // 4
    return memory_rss.run(transport, n, max(1, n // 10))


def _store_bytes(transport: str, args: CaseArgs) -> list[dict[str, Any]]:
    if transport != "redis":
        return []  # memory://: in-process, the RSS figure covers it; amqp: the same Redis store
    n = 200 if args.quick else 10_000
    namespace = args.run.ns("storemem")
    client = redis.Redis.from_url(REDIS_URL)
    bus = Bus(bus_settings(transport, namespace)).start()
    try:
        bus.create_channel("#mem", retention=Retention(max_messages=n))
        bus.register_agent("reader", channels=["#mem"])
        key = Keys(namespace).log(Stream.of_channel("#mem").id)
        content = payload()
        before = int(client.info("memory")["used_memory"])
        for _ in range(n):
            bus.publish("#mem", content, sender="bench")
        after = int(client.info("memory")["used_memory"])
        usage = int(client.memory_usage(key, samples=0) or 0)
    finally:
        bus.destroy()
        client.close()
    return [
        figure(
            transport,
            "store_bytes_per_message",
            usage / n,
            "B",
            n,
            content_bytes=len(content),
            info_delta_bytes_per_message=round((after - before) / n, 1),
        )
    ]


CASE = PartsCase(
    "memory",
    "memory",
    (("rss", _rss), ("store_bytes", _store_bytes)),
)

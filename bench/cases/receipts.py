"""Case ``receipts``: the latency of :meth:`bus.Bus.status` for a message of a channel with
100 members (issue 17: p50 at most 2 ms on Redis), some of them handled, one with a failed
attempt noted, the rest queued; the baseline is the issue's limit."""

from __future__ import annotations

import statistics
import time

from bench.cases.base import CaseArgs, Figure
from bench.common import bus_settings
from bus import Bus

#: Members of the channel; the issue's limit on the p50, in milliseconds.
MEMBERS, LIMIT_MS = 100, 2.0


class ReceiptsCase:
    """``status`` of one message on a 100-member channel, repeated."""

    name = "receipts"
    group = "receipts"

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        calls = 200 if args.quick else 2000
        with Bus(bus_settings(transport, args.run.ns("receipts"))) as bus:
            try:
                return [self._measure(bus, transport, calls)]
            finally:
                bus.destroy()

    def _measure(self, bus: Bus, transport: str, calls: int) -> Figure:
        channel = "#receipts"
        bus.create_channel(channel)
        agents = [f"member-{index:03d}" for index in range(MEMBERS)]
        bus.register_agents({agent: [channel] for agent in agents})
        message = bus.publish(channel, "how far did this get?", sender="bench")
        for agent in agents[:10]:
            bus.receive(agent, channel=channel, timeout=5)
        stream = f"c:{channel}"
        bus.store.leases.record_failure(agents[10], stream, 1, 0, "RuntimeError: noted")
        samples = []
        for _ in range(calls):
            started = time.perf_counter()
            bus.status(message.id)
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        p50 = statistics.median(samples)
        return Figure.against(
            f"status_p50_ms_{MEMBERS}_members",
            p50,
            "ms",
            transport,
            baseline=f"limit {LIMIT_MS:g} ms",
            baseline_value=LIMIT_MS,
            n=calls,
            target=1.0,
            extra={"p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3), "members": MEMBERS},
        )


CASE = ReceiptsCase()

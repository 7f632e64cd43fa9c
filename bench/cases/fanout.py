"""Case ``fanout``: deliveries/s to 1, 10 and 100 subscribers of one channel (about ``2n``
deliveries at each size), drained with :meth:`bus.Bus.receive` by up to 4 threads; the
baseline of the 100-subscriber figure is the 1-subscriber one."""

from __future__ import annotations

from bench.cases.parts import Compare, PartsCase
from bench.common import Record, Run, figure
from bench.harness.pulling import buses, drainer, timed_drain


def fanout(transport: str, run: Run, sizes: tuple[int, ...] = (1, 10, 100)) -> list[Record]:
    """One channel with 1, 10, 100 members; about ``2n`` deliveries at each size."""
    figures: list[Record] = []
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

            seconds, published = timed_drain(main, channel, receivers, messages, per_receiver)
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


CASE = PartsCase(
    "fanout",
    "fanout",
    (("fanout", lambda t, a: fanout(t, a.run)),),
    compare=(
        Compare("fanout_100_deliveries_per_s", "fanout_1_deliveries_per_s", {"*": 0.7}),
        Compare("fanout_100_us_per_delivery", "fanout_1_us_per_delivery"),
    ),
)

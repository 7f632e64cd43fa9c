"""Case ``pull``: :meth:`bus.Bus.receive` by two agents, each drained by its own thread
(``bus_pull``; ``bus_pull_batch32`` with ``receive_batch=32``, at least once;
``bus_pull_coalesced`` with coalesced deliveries) beside plain Kombu consumers of two queues
bound to one exchange (``raw_kombu``)."""

from __future__ import annotations

from bench.baselines import raw_kombu
from bench.cases.parts import Compare, PartsCase
from bench.common import Record, Run, figure
from bench.harness.pulling import buses, drainer, timed_drain


def bus_pull(
    transport: str, run: Run, receive_batch: int = 1, coalesce: bool = False
) -> list[Record]:
    """Publish ``n`` to a channel with 2 members, each drained by its own thread
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
        seconds, published = timed_drain(main, "#bench", receivers, n, lambda c: [c, c])
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


CASE = PartsCase(
    "pull",
    "pull",
    (
        ("raw_kombu", lambda t, a: raw_kombu.throughput(t, a.run)),
        ("bus_pull", lambda t, a: bus_pull(t, a.run)),
        ("bus_pull_batch32", lambda t, a: bus_pull(t, a.run, receive_batch=32)),
        ("bus_pull_coalesced", lambda t, a: bus_pull(t, a.run, coalesce=True)),
    ),
    compare=(
        Compare("bus_pull", "raw_kombu", {"*": 0.8}),
        Compare("bus_pull_batch32", "raw_kombu"),
        Compare("bus_pull_coalesced", "raw_kombu"),
    ),
)

"""Case ``pull``: :meth:`bus.Bus.receive` by two agents, each drained by its own thread, with
the settings a new user gets (``bus_pull``; ``bus_pull_batch32`` with ``receive_batch=32``, at
least once; ``bus_pull_per_message`` with ``BUS_COALESCE_DELIVERIES=false``, a delivery per
message and member, the default before decision 0006) beside plain Kombu consumers of two queues
bound to one exchange (``raw_kombu``); ``async_pull``: :class:`bus.AsyncBus`'s receive against
the sync one, measured alternately (``receive_async_*`` over ``receive_sync_*``)."""

from __future__ import annotations

import time

from bench.baselines import raw_kombu
from bench.cases.base import paired_figures
from bench.cases.parts import Compare, PartsCase
from bench.common import Record, Run, figure
from bench.harness.pulling import Receiver, async_drainer, buses, drainer, publish, timed_drain
from bus import Bus


def bus_pull(
    transport: str, run: Run, receive_batch: int = 1, coalesce: bool | None = None
) -> list[Record]:
    """Publish ``n`` to a channel with 2 members, each drained by its own thread
    (``receive_batch`` > 1: the figure ``bus_pull_batch<N>``, batches under a lease;
    ``coalesce`` False: ``bus_pull_per_message``, a delivery per message and member)."""
    n = run.n
    name = "bus_pull" if receive_batch == 1 else f"bus_pull_batch{receive_batch}"
    name += "_per_message" if coalesce is False else ""
    namespace = run.ns(f"pull{receive_batch}{'pm' if coalesce is False else ''}")
    with buses(transport, namespace, 2, receive_batch, coalesce) as (main, readers):
        coalesced = main.settings.coalesce_deliveries
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
            coalesce_deliveries=coalesced,
        )
    ]


def _sync_drainer(bus: Bus, agent: str) -> Receiver:
    return drainer(bus, [agent])


def async_pull(transport: str, run: Run, repeat: int = 3) -> list[Record]:
    """:meth:`bus.AsyncBus.receive` (``async``: each receiver thread awaits it on a loop of its
    own) against :meth:`bus.Bus.receive` (``sync``), measured alternately ``repeat`` times:
    ``pull``, 2 agents drained while ``n`` messages are published (as ``bus_pull``), and
    ``backlog``, one agent receiving ``n`` messages published before (the receive's own cost,
    no publisher beside it), each also per CPU second of the process (the publisher's included
    in ``pull``: the same in both modes), which a busy machine disturbs less than wall time."""
    n = run.n
    samples: dict[tuple[str, str], list[float]] = {}
    agents = ["agent-1", "agent-2"]
    with buses(transport, run.ns("aiopull"), 2) as (main, readers):
        main.create_channel("#bench")
        main.create_channel("#backlog")
        for agent in agents:
            main.register_agent(agent, channels=["#bench"])
        main.register_agent("reader", channels=["#backlog"])
        for _ in range(repeat):
            for mode in ("sync", "async"):
                drain = async_drainer if mode == "async" else _sync_drainer
                receivers = [
                    (drain(bus, agent), 0) for bus, agent in zip(readers, agents, strict=True)
                ]
                cpu = time.process_time()
                seconds, _ = timed_drain(main, "#bench", receivers, n, lambda c: [c, c])
                cpu = time.process_time() - cpu
                samples.setdefault(("pull_deliveries_per_s", mode), []).append(2 * n / seconds)
                samples.setdefault(("pull_deliveries_per_cpu_s", mode), []).append(2 * n / cpu)
                publish(main, "#backlog", n)
                started, cpu = time.perf_counter(), time.process_time()
                got = drain(readers[0], "reader")(n, time.monotonic() + 60 + n / 50)
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
                if got < n:
                    raise TimeoutError(f"{mode} backlog: received {got} of {n}")
                samples.setdefault(("backlog_messages_per_s", mode), []).append(n / seconds)
                samples.setdefault(("backlog_messages_per_cpu_s", mode), []).append(n / cpu)
    units = {
        "pull_deliveries_per_s": "deliveries/s",
        "pull_deliveries_per_cpu_s": "deliveries/CPU s",
        "backlog_messages_per_s": "messages/s",
        "backlog_messages_per_cpu_s": "messages/CPU s",
    }
    figures = paired_figures(
        samples, units, ("sync", "async"), "receive", transport, n=n, repeat=repeat, target=0.9
    )
    return [item.record() for item in figures]


CASE = PartsCase(
    "pull",
    "pull",
    (
        ("raw_kombu", lambda t, a: raw_kombu.throughput(t, a.run)),
        ("bus_pull", lambda t, a: bus_pull(t, a.run)),
        ("bus_pull_batch32", lambda t, a: bus_pull(t, a.run, receive_batch=32)),
        ("bus_pull_per_message", lambda t, a: bus_pull(t, a.run, coalesce=False)),
        ("async_pull", lambda t, a: async_pull(t, a.run)),
    ),
    compare=(
        Compare("bus_pull", "raw_kombu", {"memory": 0.8, "redis": 1.0, "amqp": 0.8}),
        Compare("bus_pull_batch32", "raw_kombu"),
        Compare("bus_pull_per_message", "raw_kombu"),
    ),
)

"""Pull receive: :meth:`bus.Bus.receive` by two agents (``bus_pull``; ``bus_pull_batch32``
with ``receive_batch=32``, at least once; ``bus_pull_coalesced`` with coalesced deliveries)
beside plain Kombu consumers of two queues bound to
one exchange (``raw_kombu``)."""

from __future__ import annotations

from bench import pull, raw_kombu
from bench.cases.parts import Compare, PartsCase

CASE = PartsCase(
    "pull",
    "pull",
    (
        ("raw_kombu", lambda t, a: raw_kombu.throughput(t, a.run)),
        ("bus_pull", lambda t, a: pull.throughput(t, a.run)),
        ("bus_pull_batch32", lambda t, a: pull.throughput(t, a.run, receive_batch=32)),
        ("bus_pull_coalesced", lambda t, a: pull.throughput(t, a.run, coalesce=True)),
    ),
    compare=(
        Compare("bus_pull", "raw_kombu", {"*": 0.8}),
        Compare("bus_pull_batch32", "raw_kombu"),
        Compare("bus_pull_coalesced", "raw_kombu"),
    ),
)

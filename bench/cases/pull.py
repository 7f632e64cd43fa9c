"""Pull receive: :meth:`bus.Bus.receive` by two agents (``bus_pull``) beside plain Kombu
consumers of two queues bound to one exchange (``raw_kombu``)."""

from __future__ import annotations

from bench import pull, raw_kombu
from bench.cases.parts import Compare, PartsCase

CASE = PartsCase(
    "pull",
    "pull",
    (
        ("raw_kombu", lambda t, a: raw_kombu.throughput(t, a.run)),
        ("bus_pull", lambda t, a: pull.throughput(t, a.run)),
    ),
    compare=(Compare("bus_pull", "raw_kombu", {"*": 0.8}),),
)

"""Throughput of agents hosted by a Celery worker (``bus_hosted``) beside its baseline: one
plain Celery task per delivery on the same pool (``raw_celery``)."""

from __future__ import annotations

from bench import hosted, raw_celery
from bench.cases.parts import Compare, PartsCase

CASE = PartsCase(
    "throughput",
    "throughput",
    (
        ("raw_celery", lambda t, a: raw_celery.throughput(t, a.run)),
        ("bus_hosted", lambda t, a: hosted.throughput(t, a.run)),
    ),
    compare=(Compare("bus_hosted", "raw_celery", {"*": 1.0, "redis": 2.0}),),
)

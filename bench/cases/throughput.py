"""Throughput of agents hosted by a Celery worker (``bus_hosted``) beside its baseline: one
plain Celery task per delivery on the same pool (``raw_celery``); ``bus_hosted_coalesced`` with
coalesced deliveries (one Celery task per burst)."""

from __future__ import annotations

from bench import hosted, raw_celery
from bench.cases.parts import Compare, PartsCase

CASE = PartsCase(
    "throughput",
    "throughput",
    (
        ("raw_celery", lambda t, a: raw_celery.throughput(t, a.run)),
        ("bus_hosted", lambda t, a: hosted.throughput(t, a.run)),
        ("bus_hosted_coalesced", lambda t, a: hosted.throughput(t, a.run, coalesce=True)),
    ),
    compare=(
        Compare("bus_hosted", "raw_celery", {"*": 1.0, "redis": 2.0}),
        Compare("bus_hosted_coalesced", "raw_celery"),
    ),
)

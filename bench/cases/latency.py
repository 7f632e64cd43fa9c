"""Publish-to-receive latency, one message at a time: plain Kombu (``raw_kombu_latency``),
bus pull (``bus_latency``) and publish-to-handler-start of a hosted agent
(``bus_hosted_latency``, p50; its target is at most 2 ms on the brokers)."""

from __future__ import annotations

from bench import hosted, pull, raw_kombu
from bench.cases.base import CaseArgs
from bench.cases.parts import Compare, PartsCase, Target


def samples(args: CaseArgs) -> int:
    """Messages per latency figure."""
    return args.messages or (30 if args.quick else 300)


CASE = PartsCase(
    "latency",
    "latency",
    (
        ("raw_kombu_latency", lambda t, a: raw_kombu.latency(t, a.run, samples(a))),
        ("bus_latency", lambda t, a: pull.latency(t, a.run, samples(a))),
        ("bus_hosted_latency", lambda t, a: hosted.latency(t, a.run, samples(a))),
    ),
    compare=(Compare("bus_latency_p50", "raw_kombu_latency_p50"),),
    targets=(Target("bus_hosted_latency", {"redis": 2.0, "amqp": 2.0}),),
)

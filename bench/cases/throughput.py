"""Case ``throughput``: agents hosted by a Celery worker with the settings a new user gets
(``bus_hosted``: 2 agents of ``#bench``, pool solo, concurrency 1; deliveries handled per
second, first publish to last handler done) beside its baseline, one plain Celery task per
delivery on the same pool (``raw_celery``); ``bus_hosted_per_message`` in the mode before
coalesced deliveries became the default (``BUS_COALESCE_DELIVERIES=false``: a Celery task per
message and member)."""

from __future__ import annotations

import time

from bench.baselines import raw_celery
from bench.cases.parts import Compare, PartsCase
from bench.common import Record, Run, figure, payload
from bench.harness import solo_agents, solo_worker


def hosted_throughput(transport: str, run: Run, coalesce: bool | None = None) -> list[Record]:
    """Deliveries handled per second by a worker hosting 2 agents of one channel (``coalesce``
    False: the figure ``bus_hosted_per_message``, a delivery per message and member)."""
    name = "bus_hosted_per_message" if coalesce is False else "bus_hosted"
    n, namespace = run.n, run.ns("hostedpm" if coalesce is False else "hosted")
    settings = solo_worker.settings_for(
        transport, namespace, keep=max(1000, 2 * (n + solo_worker.WARM)), coalesce=coalesce
    )
    progress = solo_worker.Progress(transport, f"{namespace}:hosted")
    total = 2 * (solo_worker.WARM + n)
    progress.expect(total)
    try:
        with solo_worker.running(transport, settings, progress.key, total) as bus:
            text = payload()
            for _ in range(solo_worker.WARM):
                bus.publish(solo_agents.THROUGHPUT_CHANNEL, text, sender="bench")
            start = time.time()
            for _ in range(n):
                bus.publish(solo_agents.THROUGHPUT_CHANNEL, text, sender="bench")
            sent = time.time() - start
            done_at = solo_worker.wait_for(
                progress.done_at, 120 + n / 20, f"{total} handled deliveries"
            )
    finally:
        progress.close()
    deliveries = 2 * n
    return [
        figure(
            transport,
            name,
            deliveries / (done_at - start),
            "deliveries/s",
            n,
            deliveries=deliveries,
            seconds=round(done_at - start, 4),
            send_seconds=round(sent, 4),
            worker="pool solo, concurrency 1",
            coalesce_deliveries=settings.coalesce_deliveries,
        )
    ]


CASE = PartsCase(
    "throughput",
    "throughput",
    (
        ("raw_celery", lambda t, a: raw_celery.throughput(t, a.run)),
        ("bus_hosted", lambda t, a: hosted_throughput(t, a.run)),
        ("bus_hosted_per_message", lambda t, a: hosted_throughput(t, a.run, coalesce=False)),
    ),
    compare=(
        Compare("bus_hosted", "raw_celery", {"memory": 1.5, "redis": 2.0, "amqp": 1.5}),
        Compare("bus_hosted_per_message", "raw_celery"),
    ),
)

"""Case ``otel``: what OpenTelemetry tracing costs, ``BUS_OTEL`` off against on, in one run:
``python -m bench --only otel [--transports memory,redis] [--n 1000]``.

Per transport and mode: ``publish`` and ``pull`` (messages/s of one bus, as the ``auth`` case
measures them) and ``hosted`` (deliveries/s of a solo worker hosting 2 agents), each also per
CPU second. ``off``: no tracer provider, what every bus without ``BUS_OTEL`` runs. ``on``: the
SDK with a batch span processor whose exporter drops the spans (``OTEL_TRACES_EXPORTER=none``:
every span is made, ended and batched; only the network is left out), in this process through
:func:`bus.tracing.use_tracer_provider` and in a worker subprocess through ``BUS_OTEL=true``.
The modes alternate 3 times (quick: once); each figure is the median of its runs
(``otel_off_<what>``, and ``otel_on_<what>`` with its ratio to it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from bench.cases.auth import UNITS, mode_samples
from bench.cases.base import CaseArgs, Figure, paired_figures
from bench.common import environment
from bus.tracing import use_tracer_provider
from bus.tracing.setup import discarding

MODES = ("off", "on")


@contextlib.contextmanager
def tracing(mode: str) -> Iterator[None]:
    """With ``on``: an SDK provider that drops its spans, for this process and (through the
    environment) for the worker subprocesses started meanwhile."""
    if mode == "off":
        yield
        return
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(discarding()))
    with environment({"BUS_OTEL": "true", "OTEL_TRACES_EXPORTER": "none"}):
        use_tracer_provider(provider)
        try:
            yield
        finally:
            use_tracer_provider(None)
            provider.shutdown()


class OtelCase:
    """The figures with tracing off and on, alternating; see the module doc."""

    name = "otel"
    group = "otel"

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        """Each mode ``repeat`` times, alternating; the medians, on against off."""
        n, repeat, samples = mode_samples(transport, args, "otel", MODES, within=tracing)
        return paired_figures(
            samples, UNITS, ("off", "on"), "otel", transport, n=n, repeat=repeat, target=0.85
        )

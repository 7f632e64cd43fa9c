"""Causation and OpenTelemetry: who caused what, across agents, workers and processes.

- :mod:`bus.tracing.causation`: the message a handler (or a reply) was caused by, and the fields
  it gives what it causes (``causation_id``, ``hops``, the trace context), and the usage a
  handler's messages report.
- :mod:`bus.tracing.spans`: the spans of the messaging semantic conventions (``publish``,
  ``process``, ``receive``, and ``deliver`` for a run's batch) and the GenAI agent span
  (``invoke_agent``). They use only ``opentelemetry-api``: with no SDK configured nothing is
  made, and a check of the global tracer provider is all they cost.
- :mod:`bus.tracing.tracer_provider`: the tracer provider the spans go to (the global one, or
  one given to ``use_tracer_provider``) and that check (``active``).
- :mod:`bus.tracing.setup`: ``BUS_OTEL=true`` configures the SDK (the ``otel`` extra) from the
  standard ``OTEL_*`` variables; nothing of the SDK is imported otherwise.
- :mod:`bus.tracing.log_fields`: what a log line adds (trace, span, message, causation ids).
"""

from bus.tracing.causation import Cause, caused_by, handling
from bus.tracing.log_fields import trace_fields
from bus.tracing.setup import configure_tracing, shutdown_tracing
from bus.tracing.spans import DeliveryTrace, delivery, processing, publishing, received
from bus.tracing.tracer_provider import active, use_tracer_provider

__all__ = [
    "Cause",
    "DeliveryTrace",
    "active",
    "caused_by",
    "configure_tracing",
    "delivery",
    "handling",
    "processing",
    "publishing",
    "received",
    "shutdown_tracing",
    "trace_fields",
    "use_tracer_provider",
]

"""What a log line says about the message and the trace it is logged in."""

from __future__ import annotations

from opentelemetry import trace

from bus.tracing.causation import current_message


def trace_fields() -> dict[str, str]:
    """The ids of the current span's trace and span (when one is recording or propagated),
    and of the message being handled and its cause (when a handler runs)."""
    fields: dict[str, str] = {}
    message = current_message.get()
    if message is not None:
        fields["message_id"] = str(message.id)
        if message.causation_id is not None:
            fields["causation_id"] = str(message.causation_id)
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        fields["trace_id"] = trace.format_trace_id(context.trace_id)
        fields["span_id"] = trace.format_span_id(context.span_id)
    return fields

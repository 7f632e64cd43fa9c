"""Causation: the message being handled, and what it gives the messages its handling causes.

A handler's ``ctx`` and :meth:`bus.AgentClient.reply` hold a :class:`Cause`; each message they
publish or send gets, unless given by hand, ``causation_id`` (the cause's id), ``hops`` (its
hops + 1) and, when no span is current in the caller, the cause's trace context, so the chain
stays one trace even through a process that traces nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace

from bus.message import Message

#: The message whose handler runs in this context (for log lines: its id and causation id).
current_message: ContextVar[Message | None] = ContextVar("bus_current_message", default=None)


@contextmanager
def handling(message: Message) -> Iterator[None]:
    """Mark ``message`` as the one being handled in this context (log lines name it)."""
    token = current_message.set(message)
    try:
        yield
    finally:
        current_message.reset(token)


@dataclass
class Cause:
    """The message being handled, and the usage its handler's messages report.

    Args:
        message: The message whose handling causes what is published through the holder.
    """

    message: Message
    #: Tokens the messages published while handling it report (``metadata.tokens_used``).
    tokens: int = 0
    #: Cost they report (``metadata.cost``).
    cost: float = 0.0
    #: Whether any of them reported usage at all.
    reported: bool = False

    def spent(self, message: Message | None) -> None:
        """Add the usage ``message`` (published while handling) reports."""
        metadata = None if message is None else message.metadata
        if metadata is None:
            return
        if metadata.tokens_used is not None:
            self.tokens += metadata.tokens_used
            self.reported = True
        if metadata.cost is not None:
            self.cost += metadata.cost
            self.reported = True


def caused_by(fields: MutableMapping[str, Any], cause: Message) -> None:
    """Give the fields of a message ``cause`` caused their causation, unless set by hand:
    ``causation_id``, ``hops`` and (no span being current here) ``cause``'s trace context."""
    fields.setdefault("causation_id", cause.id)
    fields.setdefault("hops", cause.hops + 1)
    if "traceparent" in fields or cause.traceparent is None:
        return
    if trace.get_current_span().get_span_context().is_valid:
        return  # the publish span is parented on the current one, which carries the trace
    fields["traceparent"] = cause.traceparent
    if cause.tracestate is not None:
        fields.setdefault("tracestate", cause.tracestate)

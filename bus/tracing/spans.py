"""The spans of a bus, per OpenTelemetry's messaging and GenAI semantic conventions.

- ``publish {destination}`` (PRODUCER): a publish or send, from the check of the message to its
  deliveries. Its context is the message's ``traceparent`` (its creation context), written
  before the message is signed, so it cannot be changed on the way.
- ``process {destination}`` (CONSUMER): one agent handling one message in a worker, a child of
  the message's creation context; ``messaging.consumer.group.name`` is the agent.
- ``invoke_agent {agent}`` (INTERNAL): the agent's handlers, inside ``process``, with the GenAI
  agent attributes and the usage the handler's messages report.
- ``receive {destination}`` (CONSUMER): a pull ``receive`` that returned a message, in the
  receiver's current context, linked to the message's creation context.

The destination is the channel (``#engineering``) or, for a direct message, ``@`` and the
recipient. With no SDK configured (no tracer provider set), :func:`active` is false and none of
this runs: callers check it first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bus.message import Message
from bus.tracing.causation import Cause

#: ``messaging.system``: bus is the messaging system its users see (Redis and RabbitMQ are its
#: transports, named in ``messaging.bus.transport`` by whoever wants it in the resource).
SYSTEM = "bus"
_propagator = TraceContextTextMapPropagator()
_INACTIVE = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
#: A provider given to :func:`use_tracer_provider` instead of the global one.
_provider: TracerProvider | None = None


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Make bus's spans go to ``provider`` instead of the global tracer provider (``None``: the
    global one again). For tests and for programs that keep several providers."""
    global _provider
    _provider = provider


def active() -> bool:
    """Whether spans are recorded: a tracer provider (an SDK) is configured.

    Called on every publish, delivery and receive, so the answer for "none configured" must
    cost next to nothing: the API's ``get_tracer_provider()`` looks the environment up each
    time it finds none set (~2 µs here), so the global is read directly while it is unset and
    no ``OTEL_PYTHON_TRACER_PROVIDER`` names one (the public call otherwise)."""
    if _provider is not None:
        return not isinstance(_provider, _INACTIVE)
    if getattr(trace, "_TRACER_PROVIDER", _UNKNOWN) is None and not _provider_in_environment():
        return False
    return not isinstance(trace.get_tracer_provider(), _INACTIVE)


_UNKNOWN = object()


@cache
def _provider_in_environment() -> bool:
    # Read once: a provider named in the environment is loaded by the first public call.
    return "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


@cache
def _tracer_of(provider: TracerProvider) -> Tracer:
    return provider.get_tracer("bus")


def tracer() -> Tracer:
    """bus's tracer of the provider in use."""
    return _tracer_of(_provider if _provider is not None else trace.get_tracer_provider())


def destination(message: Message) -> str:
    """The channel, or ``@`` and the recipient of a direct message."""
    return message.channel if message.channel is not None else f"@{message.recipient}"


def creation_context(message: Message) -> otel_context.Context | None:
    """The context the message was created in, from its ``traceparent`` (``None``: none)."""
    if message.traceparent is None:
        return None
    carrier = {"traceparent": message.traceparent}
    if message.tracestate is not None:
        carrier["tracestate"] = message.tracestate
    return _propagator.extract(carrier)


def message_attributes(message: Message) -> dict[str, Any]:
    """The messaging attributes of ``message``."""
    attributes: dict[str, Any] = {
        "messaging.system": SYSTEM,
        "messaging.destination.name": destination(message),
        "messaging.message.id": str(message.id),
        "messaging.bus.sender": message.sender,
        "messaging.bus.type": str(message.type),
        "messaging.bus.hops": message.hops,
    }
    if message.correlation_id is not None:
        attributes["messaging.message.conversation_id"] = str(message.correlation_id)
    if message.causation_id is not None:
        attributes["messaging.bus.causation_id"] = str(message.causation_id)
    if message.seq is not None:
        attributes["messaging.bus.seq"] = message.seq
    return attributes


def usage_attributes(tokens: int | None, cost: float | None) -> dict[str, Any]:
    """``gen_ai.usage.total_tokens`` and ``bus.usage.cost`` for what a message reports."""
    attributes: dict[str, Any] = {}
    if tokens is not None:
        attributes["gen_ai.usage.total_tokens"] = tokens
    if cost is not None:
        attributes["bus.usage.cost"] = cost
    return attributes


@contextmanager
def publishing(message: Message) -> Iterator[tuple[Span, Message]]:
    """The ``publish`` span of ``message``, current inside, and the message carrying its context
    (to be signed and stored); its parent is the message's ``traceparent`` if set, else the
    current span. Set ``messaging.bus.seq`` on the span once the message is stored."""
    attributes = message_attributes(message) | {
        "messaging.operation.type": "send",
        "messaging.operation.name": "publish",
        **usage_attributes(message.metadata.tokens_used, message.metadata.cost),
    }
    with tracer().start_as_current_span(
        f"publish {destination(message)}",
        context=creation_context(message),
        kind=SpanKind.PRODUCER,
        attributes=attributes,
    ) as span:
        carrier: dict[str, str] = {}
        _propagator.inject(carrier)
        traced = message.model_copy(
            update={
                "traceparent": carrier.get("traceparent"),
                "tracestate": carrier.get("tracestate"),
            }
        )
        yield span, traced


@dataclass
class Invocation:
    """The ``process`` and ``invoke_agent`` spans of one message handled by one agent."""

    process: Span
    invoke: Span

    def failed(self, failures: list[tuple[str, BaseException]]) -> None:
        """Mark both spans failed, with each handler's exception on ``invoke_agent``."""
        for name, exc in failures:
            self.invoke.record_exception(exc, attributes={"bus.handler": name})
        description = "; ".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures)
        for span in (self.invoke, self.process):
            span.set_attribute("error.type", type(failures[0][1]).__qualname__)
            span.set_status(Status(StatusCode.ERROR, description))


@contextmanager
def processing(agent: str, message: Message, attempt: int, cause: Cause) -> Iterator[Invocation]:
    """The ``process`` span of ``agent`` handling ``message`` (a child of the message's creation
    context) and, inside it and current, its ``invoke_agent`` span; the usage ``cause``
    gathered is set on ``invoke_agent`` when it ends."""
    named = tracer()
    attributes = message_attributes(message) | {
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.consumer.group.name": agent,
        "messaging.bus.attempt": attempt,
    }
    with named.start_as_current_span(
        f"process {destination(message)}",
        context=creation_context(message),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    ) as process:
        agent_attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent,
            "gen_ai.agent.id": agent,
        }
        if message.correlation_id is not None:
            agent_attributes["gen_ai.conversation.id"] = str(message.correlation_id)
        with named.start_as_current_span(
            f"invoke_agent {agent}", kind=SpanKind.INTERNAL, attributes=agent_attributes
        ) as invoke:
            try:
                yield Invocation(process, invoke)
            finally:
                if cause.reported:
                    invoke.set_attributes(usage_attributes(cause.tokens, cause.cost))


def received(agent: str, message: Message, started_ns: int) -> None:
    """Record the ``receive`` span of a pull receive by ``agent`` that began at ``started_ns``
    (``time.time_ns()``) and returned ``message``: in the current context, linked to the
    message's creation context."""
    created = creation_context(message)
    links = []
    if created is not None:
        links.append(Link(trace.get_current_span(created).get_span_context()))
    attributes = message_attributes(message) | {
        "messaging.operation.type": "receive",
        "messaging.operation.name": "receive",
        "messaging.consumer.group.name": agent,
    }
    span = tracer().start_span(
        f"receive {destination(message)}",
        kind=SpanKind.CONSUMER,
        attributes=attributes,
        links=links,
        start_time=started_ns,
    )
    span.end()

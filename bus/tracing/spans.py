"""The spans of a bus, per OpenTelemetry's messaging and GenAI semantic conventions.

- ``publish {destination}`` (PRODUCER): a publish or send, from the check of the message to its
  deliveries. Its context is the message's ``traceparent`` (its creation context), written
  before the message is signed, so it cannot be changed on the way.
- ``process {destination}`` (CONSUMER): one agent handling one message in a worker, a child of
  the message's creation context; ``messaging.consumer.group.name`` is the agent.
- ``invoke_agent {agent}`` (INTERNAL): the agent's handlers, inside ``process``, with the GenAI
  agent attributes and the usage the handler's messages report.
- ``deliver {destination}`` (CONSUMER): one run of an agent's stream in a worker, as started by
  a delivery task (or by a post from the same process), over the messages it handled: with
  coalesced deliveries one delivery hands a run a whole burst. It links to the creation context
  of each message it handled or dead-lettered (each keeps its own ``process`` span), so a batch
  is one span with a link per message, as the conventions ask of batch processing.
- ``receive {destination}`` (CONSUMER): a pull ``receive`` that returned a message, in the
  receiver's current context, linked to the message's creation context.

The destination is the channel (``#engineering``) or, for a direct message, ``@`` and the
recipient. With no SDK configured (no tracer provider set), :func:`active` is false and none of
this runs: callers check it first. Which provider the spans go to, and that check, are
:mod:`bus.tracing.tracer_provider`'s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bus.message import Message
from bus.tracing.causation import Cause
from bus.tracing.tracer_provider import active, tracer

#: ``messaging.system``: bus is the messaging system its users see (Redis and RabbitMQ are its
#: transports, named in ``messaging.bus.transport`` by whoever wants it in the resource).
SYSTEM = "bus"
_propagator = TraceContextTextMapPropagator()
#: Links a ``deliver`` span keeps (the SDK's default limit): a run that drains a long backlog
#: counts every message but does not hold a link to each.
DELIVERY_LINKS = 128


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


@dataclass
class DeliveryTrace:
    """The messages one run of ``agent``'s stream handled, for its ``deliver`` span (made when
    the run ends, from ``started_ns``: ``time.time_ns()`` when it began). Made by
    :func:`delivery`: with tracing off it records nothing (``recording`` false)."""

    agent: str
    #: The channel, or ``@`` and the agent for its direct messages.
    destination: str
    #: The delivery task that started the run (``None``: a post from this process did).
    task_id: str | None
    started_ns: int
    #: How many messages the run handled or dead-lettered.
    count: int = 0
    #: How many of them it dead-lettered.
    dead_lettered: int = 0
    links: list[Link] = field(default_factory=list)
    recording: bool = True

    def handled(self, message: Message, *, dead_lettered: bool = False) -> None:
        """Count ``message`` (handled, or given up on) and link to its creation context."""
        if not self.recording:
            return
        self.count += 1
        self.dead_lettered += dead_lettered
        created = creation_context(message)
        if created is None or len(self.links) >= DELIVERY_LINKS:
            return
        attributes: dict[str, Any] = {"messaging.message.id": str(message.id)}
        if message.seq is not None:
            attributes["messaging.bus.seq"] = message.seq
        self.links.append(Link(trace.get_current_span(created).get_span_context(), attributes))

    def end(self, error: str | None = None) -> None:
        """Record the ``deliver`` span if the run handled anything; ``error``: the run failed."""
        if not self.count:  # also when not recording
            return  # found its stream drained, or held by another worker: nothing to show
        attributes: dict[str, Any] = {
            "messaging.system": SYSTEM,
            "messaging.destination.name": self.destination,
            "messaging.operation.type": "process",
            "messaging.operation.name": "deliver",
            "messaging.consumer.group.name": self.agent,
            "messaging.batch.message_count": self.count,
        }
        if self.task_id is not None:
            attributes["messaging.bus.task_id"] = self.task_id
        if self.dead_lettered:
            attributes["messaging.bus.dead_lettered"] = self.dead_lettered
        span = tracer().start_span(
            f"deliver {self.destination}",
            context=otel_context.Context(),  # a root: each message's trace is in its link
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            links=self.links,
            start_time=self.started_ns,
        )
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()


def delivery(agent: str, destination: str, task_id: str | None) -> DeliveryTrace:
    """What a run of ``agent``'s stream on ``destination`` (see :class:`DeliveryTrace`), started now
    by delivery task ``task_id``, gathers for its ``deliver`` span (nothing if tracing is off)."""
    return DeliveryTrace(agent, destination, task_id, time.time_ns(), recording=active())


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

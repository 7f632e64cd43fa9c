"""Spans and causation in one process (an embedded worker on memory://), recorded by the SDK's
in-memory exporter: names, kinds, attributes, parents and links of a chain of three agents, a
request/reply, a failing handler and a pull receive."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from bus import Bus
from bus.broker.celery_app import create_app
from bus.message import Message
from bus.testing import join
from bus.worker import Agent, EmbeddedWorker, install
from bus.worker.context import AsyncHandlerContext, HandlerContext
from tests.brokers import settings_for
from tests.tracing.conftest import Spans, parent_of, span_id, trace_id
from tests.worker.harness import FAST, wait_for

pytestmark = pytest.mark.memory

planner = Agent("planner", channels=["#engineering"])
coder = Agent("coder")
reviewer = Agent("reviewer", channels=["#code-review"])
answerer = Agent("answerer")
breaker = Agent("breaker", channels=["#incidents"])
reviewed: list[Message] = []


@planner.on()
def plan(message: Message, ctx: HandlerContext) -> None:
    ctx.send("coder", f"implement: {message.content}", metadata={"tokens_used": 10})


@coder.on_direct()
async def implement(message: Message, ctx: AsyncHandlerContext) -> None:
    await ctx.publish("#code-review", "done", metadata={"tokens_used": 5, "cost": 0.25})


@reviewer.on()
def review(message: Message, ctx: HandlerContext) -> None:
    reviewed.append(message)


@answerer.on_direct()
async def answer(message: Message, ctx: AsyncHandlerContext) -> str:
    return f"answer to {message.content}"


@breaker.on()
def fail(message: Message, ctx: HandlerContext) -> None:
    raise RuntimeError("the pager is on fire")


@pytest.fixture
def hosted(spans: Spans) -> Iterator[Bus]:
    """The five agents above in an embedded worker, traced into ``spans``."""
    reviewed.clear()
    settings = settings_for("memory", **{**FAST, "max_retries": 0})
    app = create_app(settings)
    agents = {agent.name: agent for agent in (planner, coder, reviewer, answerer, breaker)}
    install(app, settings, agents)
    with Bus(settings, app=app) as bus, EmbeddedWorker(app, pool="threads", concurrency=4):
        wait_for(lambda: "#code-review" in bus.subscriptions("reviewer"), 10, "registration")
        spans.exporter.clear()
        yield bus
        bus.destroy()


def _chain(bus: Bus) -> Message:
    task = bus.publish("#engineering", "the API", sender="ceo")
    wait_for(lambda: len(reviewed) == 1, 10, "the review")
    for agent in ("planner", "coder", "reviewer"):
        join(bus, agent)
    return task


def test_a_chain_of_three_agents_is_one_trace_with_each_span_under_its_cause(
    hosted: Bus, spans: Spans
) -> None:
    task = _chain(hosted)
    names = [
        "publish #engineering",
        "process #engineering",
        "invoke_agent planner",
        "publish @coder",
        "process @coder",
        "invoke_agent coder",
        "publish #code-review",
        "process #code-review",
        "invoke_agent reviewer",
    ]
    chain = [spans.one(name) for name in names]
    assert {trace_id(span) for span in chain} == {trace_id(chain[0])}
    assert parent_of(chain[0]) is None
    for parent, child in itertools.pairwise(chain):
        assert parent_of(child) == span_id(parent), f"{child.name} under {parent.name}"
    kinds = [span.kind for span in chain]
    assert kinds == [SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL] * 3

    publish, process, invoke = chain[0], chain[1], chain[2]
    assert publish.attributes is not None
    assert process.attributes is not None
    assert publish.attributes["messaging.system"] == "bus"
    assert publish.attributes["messaging.destination.name"] == "#engineering"
    assert publish.attributes["messaging.message.id"] == str(task.id)
    assert publish.attributes["messaging.operation.type"] == "send"
    assert publish.attributes["messaging.bus.seq"] == task.seq
    assert process.attributes["messaging.consumer.group.name"] == "planner"
    assert process.attributes["messaging.operation.type"] == "process"
    assert process.attributes["messaging.bus.seq"] == task.seq
    assert invoke.attributes == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "planner",
        "gen_ai.agent.id": "planner",
        "gen_ai.usage.total_tokens": 10,
        "bus.usage.cost": 0.0,
    }
    coder_invoke = chain[5]
    assert coder_invoke.attributes is not None
    assert coder_invoke.attributes["gen_ai.usage.total_tokens"] == 5
    assert coder_invoke.attributes["bus.usage.cost"] == 0.25
    assert chain[3].attributes is not None
    assert chain[3].attributes["gen_ai.usage.total_tokens"] == 10  # what the message reports

    # The messages carry the chain: causation, hops, and the context of their publish span.
    review = reviewed[0]
    assert review.hops == 2
    assert review.traceparent is not None
    assert review.traceparent.split("-")[1] == f"{trace_id(chain[0]):032x}"
    assert review.traceparent.split("-")[2] == f"{span_id(chain[6]):016x}"
    dm = hosted.trace(review.id).root.children[0]
    assert (dm.recipient, dm.sender, dm.hops) == ("coder", "planner", 1)
    assert review.causation_id == dm.message_id


def test_a_request_and_its_reply_are_one_trace_and_the_reply_is_caused_by_the_request(
    hosted: Bus, spans: Spans
) -> None:
    reply = hosted.request("answerer", "ETA?", sender="ceo", timeout=10)
    join(hosted, "answerer")  # its spans end before its position moves on
    request = spans.one("publish @answerer")
    assert request.attributes is not None
    request_id = request.attributes["messaging.message.id"]
    assert str(reply.causation_id) == request_id
    conversation = request.attributes["messaging.message.conversation_id"]
    assert str(reply.correlation_id) == conversation
    assert reply.hops == 1
    process, invoke, answered = (
        spans.one("process @answerer"),
        spans.one("invoke_agent answerer"),
        spans.one("publish @ceo"),
    )
    assert parent_of(process) == span_id(request)
    assert parent_of(invoke) == span_id(process)
    assert parent_of(answered) == span_id(invoke)
    assert answered.attributes is not None
    assert answered.attributes["messaging.message.conversation_id"] == conversation
    assert answered.attributes["messaging.bus.causation_id"] == request_id
    assert {trace_id(span) for span in (request, process, invoke, answered)} == {trace_id(request)}


def test_a_failing_handler_marks_its_process_and_invoke_agent_spans_failed(
    hosted: Bus, spans: Spans
) -> None:
    hosted.publish("#incidents", "prod is down", sender="ceo")
    join(hosted, "breaker")
    process = spans.one("process #incidents")
    invoke = spans.one("invoke_agent breaker")
    for span in (process, invoke):
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description is not None
        assert "RuntimeError: the pager is on fire" in span.status.description
        assert span.attributes is not None
        assert span.attributes["error.type"] == "RuntimeError"
    (event,) = invoke.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "RuntimeError"


def test_a_pull_receive_is_a_receive_span_linked_to_the_publish(hosted: Bus, spans: Spans) -> None:
    reader = hosted.agent("reader", channels=["#design"])
    hosted.register_agent("ceo")  # the reply goes to its inbox
    sent = hosted.publish("#design", "mockups", sender="ceo")
    got = reader.receive(timeout=5)
    assert got is not None
    assert got.id == sent.id
    publish, receive = spans.one("publish #design"), spans.one("receive #design")
    assert receive.kind is SpanKind.CONSUMER
    assert receive.attributes is not None
    assert receive.attributes["messaging.consumer.group.name"] == "reader"
    assert receive.attributes["messaging.operation.type"] == "receive"
    assert [link.context.span_id for link in receive.links] == [span_id(publish)]
    answer = reader.reply(got, "looks good")
    assert answer.causation_id == sent.id
    assert parent_of(spans.one("publish @ceo")) == span_id(publish)  # no span current here


def test_without_a_tracer_provider_no_span_is_made_and_causation_still_travels(
    hosted: Bus, spans: Spans
) -> None:
    from bus.tracing import use_tracer_provider

    use_tracer_provider(None)  # the global provider: none is configured in the tests
    task = _chain(hosted)
    assert spans.all() == []
    tree = hosted.trace(task.id)
    assert [node.hops for _, node in tree.root.walk()] == [0, 1, 2]
    assert reviewed[0].traceparent is None  # nobody traced: no context to pass on


def test_a_dead_letter_is_caused_by_the_failed_message_and_joins_its_trace(
    hosted: Bus, spans: Spans
) -> None:
    failing = hosted.publish("#incidents", "prod is down", sender="ceo")
    join(hosted, "breaker")
    tree = hosted.trace(failing.id)
    (letter,) = tree.root.children
    assert (letter.sender, letter.channel, letter.hops) == ("bus", "#dead-letters", 1)
    assert tree.root.message_id == failing.id
    (posted,) = hosted.history("#dead-letters", limit=10)
    assert (posted.id, posted.causation_id) == (letter.message_id, failing.id)
    publish, dead = spans.one("publish #incidents"), spans.one("publish #dead-letters")
    assert trace_id(dead) == trace_id(publish)
    assert parent_of(dead) == span_id(publish)  # beside the failed process span, in its trace
    assert hosted.trace(letter.message_id).root.message_id == failing.id

"""Workers on memory://: an embedded worker thread pool hosts the agents in this process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bus import Bus, BusTimeout, UnknownAgent
from bus.broker.celery_app import create_app
from bus.deadletters.operations import list_dead_letters, replay
from bus.message import Message
from bus.settings import BusSettings
from bus.testing import join
from bus.worker import Agent, Context, EmbeddedWorker, install, load_agents
from bus.worker.hosting import hosting_of
from bus.worker.outcomes import Status
from tests.brokers import settings_for
from tests.helpers import recorder_agents
from tests.worker.harness import FAST, wait_for

pytestmark = pytest.mark.memory

async_seen: list[tuple[int | None, str]] = []
async_agent = Agent("async-agent", channels=["#engineering"])


@async_agent.on()
async def remember_later(message: Message, ctx: Context) -> None:
    await asyncio.sleep(0)
    async_seen.append((message.seq, message.content))


@pytest.fixture
def settings() -> BusSettings:
    return settings_for("memory", **FAST)


@pytest.fixture
def hosted(settings: BusSettings) -> Iterator[Bus]:
    """A bus whose recorder agents run in an embedded worker with a pool of two threads."""
    recorder_agents.RUNS.clear()
    app = create_app(settings)
    agents = load_agents(["tests.helpers.recorder_agents"])
    install(app, settings, {**agents, "async-agent": async_agent})
    with Bus(settings, app=app) as bus, EmbeddedWorker(app, pool="threads", concurrency=2):
        wait_for(lambda: "#engineering" in bus.subscriptions("rec-b"), 10, "registration")
        yield bus
        bus.destroy()


def _done(agent: str, where: str = "#engineering") -> list[int]:
    return [
        int(fields[3])
        for fields in (line.split() for line in list(recorder_agents.RUNS))
        if fields[0] == "done" and fields[1] == agent and fields[2] == where
    ]


def test_a_pool_of_two_threads_runs_each_agents_handlers_in_channel_order(hosted: Bus) -> None:
    for index in range(30):
        hosted.publish("#engineering", "sleep:0.005" if index % 3 else f"m{index}", sender="t")
    join(hosted, "rec-a", 30)
    join(hosted, "rec-b", 30)
    assert _done("rec-a") == list(range(1, 31))
    assert _done("rec-b") == list(range(1, 31))


def test_a_failing_handler_is_retried_then_dead_lettered_and_the_agent_moves_on(
    hosted: Bus,
) -> None:
    for content in ("flaky", "fail", "after"):
        hosted.publish("#engineering", content, sender="t")
    join(hosted, "rec-a", 30)  # a dead letter counts as handled: the agent moved on
    join(hosted, "rec-b", 30)
    assert (_done("rec-a"), _done("rec-b")) == ([1, 3], [1, 3])
    attempts = [
        line for line in recorder_agents.RUNS if line.startswith("start rec-a #engineering 2 ")
    ]
    assert len(attempts) == FAST["max_retries"] + 1
    wait_for(lambda: len(list_dead_letters(hosted)) == 2, 10, "two dead letters")
    letters = {letter.agent: letter for letter in list_dead_letters(hosted)}
    assert letters["rec-a"].seq == 2
    assert letters["rec-a"].channel == "#engineering"
    assert letters["rec-a"].attempts == FAST["max_retries"] + 1
    assert "refuses 'fail'" in letters["rec-a"].error
    assert letters["rec-a"].message.content == "fail"


def test_a_replayed_dead_letter_runs_the_handlers_again(hosted: Bus) -> None:
    hosted.publish("#engineering", "fail", sender="t")
    wait_for(lambda: len(list_dead_letters(hosted)) == 2, 30, "dead letters")
    letter = next(item for item in list_dead_letters(hosted) if item.agent == "rec-b")
    assert letter.dead_letter_seq is not None
    starts_before = sum(1 for line in recorder_agents.RUNS if line.startswith("start rec-b"))
    replay(hosted, letter.dead_letter_seq)
    wait_for(
        lambda: (
            sum(1 for line in recorder_agents.RUNS if line.startswith("start rec-b"))
            > starts_before
        ),
        10,
        "the replay",
    )
    wait_for(lambda: len(list_dead_letters(hosted)) == 3, 10, "the replay failing again")


def test_replaying_an_unknown_dead_letter_is_a_clear_error(hosted: Bus) -> None:
    with pytest.raises(Exception, match="no dead letter #99"):
        replay(hosted, 99)


def test_a_request_gets_the_handlers_returned_string_as_reply(hosted: Bus) -> None:
    reply = hosted.request("rec-a", "ping", sender="tester", timeout=10)
    assert reply.content == "rec-a got ping"
    assert reply.sender == "rec-a"
    assert reply.recipient == "tester"


def test_a_request_nobody_answers_times_out_naming_the_agent(hosted: Bus) -> None:
    hosted.register_agent("silent")
    with pytest.raises(BusTimeout) as caught:
        hosted.request("silent", "anyone?", sender="tester", timeout=0.3)
    assert caught.value.context["agent"] == "silent"
    assert "silent" in str(caught.value)
    assert caught.value.context["request_id"]


def test_async_handlers_run_too(hosted: Bus) -> None:
    async_seen.clear()
    hosted.publish("#engineering", "async hello", sender="t")
    join(hosted, "async-agent", 10)
    assert async_seen == [(1, "async hello")]


def test_a_delivery_to_an_agent_unregistered_meanwhile_is_dropped_with_a_log_line(
    hosted: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    # A delivery the worker reserved before the agent was removed: its queue is gone, so it
    # can only be handed to the runtime as the delivery task would.
    hosting = hosting_of(hosted.app)
    assert hosting is not None
    runtime = hosting.runtime
    hosted.unregister_agent("rec-a")

    with caplog.at_level("WARNING", logger="bus.delivery"):
        outcome = runtime.deliver("rec-a", "#engineering", 1, "task-1")

    assert (outcome.status, outcome.handled) == (Status.ALREADY, [])
    assert "dropped a delivery to rec-a (#engineering #1): the agent was unregistered" in (
        caplog.text
    )
    with pytest.raises(UnknownAgent):
        hosted.send("rec-a", "still there?", sender="cli")


def test_a_delivery_after_its_message_was_given_up_on_reports_the_handlers_traceback(
    hosted: Bus,
) -> None:
    # A late delivery (its message was dead-lettered before the worker picked the delivery up)
    # still fails with the handler's own frames as its cause: Flower shows them either way.
    posted = hosted.publish("#engineering", "fail", sender="tester")
    assert posted.seq is not None
    wait_for(lambda: len(list_dead_letters(hosted)) == 2, 20, "both agents to give up")
    hosting = hosting_of(hosted.app)
    assert hosting is not None
    outcome = hosting.runtime.deliver("rec-a", "#engineering", posted.seq, "late-task")
    assert outcome.status is Status.FAILED
    assert outcome.error is not None
    assert "rec-a refuses 'fail'" in outcome.error
    cause = str(outcome.cause)
    assert "recorder_agents.py" in cause
    assert "RuntimeError: rec-a refuses 'fail'" in cause

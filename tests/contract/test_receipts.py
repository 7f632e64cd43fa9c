"""Delivery receipts on every transport (issue 17): a pull member's states, a message retention
trimmed before a lagging member read it, unknown, malformed and other namespaces' ids, the
asyncio surface; ``bus status`` in a subprocess with its exit codes."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator

import pytest

from bus import (
    AsyncBus,
    Bus,
    BusTimeout,
    DeliveryState,
    InvalidArgument,
    Retention,
    UnknownMessage,
)
from bus.deadletters.operations import DeadLetter, dead_letter
from bus.message import Message
from bus.publishing.requests import Requests
from bus.settings import BusSettings
from bus.store import Store
from tests.brokers import require, settings_for
from tests.helpers.cli_support import assert_one_line_error, cli_environment, run_bus
from tests.helpers.oracle import ask_the_oracle


def test_a_pull_member_goes_from_queued_to_handled_and_a_dm_has_its_recipient(bus: Bus) -> None:
    bus.register_agent("ann", channels=["#engineering"])
    bus.register_agent("bob", channels=["#engineering"])
    posted = bus.publish("#engineering", "hello", sender="ceo")
    status = bus.status(posted.id)
    assert status.in_state("queued") == ["ann", "bob"]
    assert status.retained
    assert status.members["ann"].since == status.stored_at
    bus.receive("ann", timeout=5)
    status = bus.status(str(posted.id))
    assert status.in_state(DeliveryState.HANDLED) == ["ann"]
    assert not status.reached("handled")
    with pytest.raises(BusTimeout) as waited:
        bus.wait_for(posted.id, timeout=0)
    assert waited.value.context["status"].members["bob"].state is DeliveryState.QUEUED
    direct = bus.send("bob", "psst", sender="ann")
    assert list(bus.status(direct.id).members) == ["bob"]
    assert bus.status(direct.id).recipient == "bob"


def _ask_the_oracle(bus: Bus) -> tuple[Message, list[DeliveryState]]:
    """A request to ``oracle``, which reads its status once handed the request (before it
    replies), then replies: the reply, and the state it read."""
    return ask_the_oracle(bus, lambda question: bus.status(question.id).members["oracle"].state)


def test_a_request_is_handled_once_replied_not_when_handed_over(bus: Bus) -> None:
    reply, seen = _ask_the_oracle(bus)
    assert seen == [DeliveryState.IN_PROGRESS]
    assert reply.causation_id is not None
    replied = bus.status(reply.causation_id).members["oracle"]
    assert replied.state is DeliveryState.HANDLED
    assert replied.since is not None


def test_a_request_handed_over_before_its_requester_noted_it_is_still_in_progress(
    bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The requester notes "requested" just after the post; a reader can be quicker. Here it
    # always is: the note is never written, and the open reply box says the request waits.
    noted = Requests._note

    def note_late(self: Requests, store: Store, sent: Message, kind: str) -> None:
        if kind != "requested":
            noted(self, store, sent, kind)

    monkeypatch.setattr(Requests, "_note", note_late)
    reply, seen = _ask_the_oracle(bus)
    assert seen == [DeliveryState.IN_PROGRESS]
    assert reply.causation_id is not None
    assert bus.status(reply.causation_id).members["oracle"].state is DeliveryState.HANDLED


def test_a_message_trimmed_before_a_lagging_member_read_it_is_skipped(bus: Bus) -> None:
    bus.create_channel("#tiny", retention=Retention(max_messages=2))
    bus.register_agent("fast", channels=["#tiny"])
    bus.register_agent("slow", channels=["#tiny"])
    first = bus.publish("#tiny", "m1", sender="ceo")
    assert bus.receive("fast", channel="#tiny", timeout=5) is not None
    for n in range(2, 4):
        bus.publish("#tiny", f"m{n}", sender="ceo")
    status = bus.status(first.id)
    assert not status.retained
    assert status.members["fast"].state is DeliveryState.HANDLED
    assert status.members["slow"].state is DeliveryState.SKIPPED  # before it reads on
    assert bus.receive("slow", channel="#tiny", timeout=5) is not None  # m2; m1 is gone
    assert bus.status(first.id).members["slow"].state is DeliveryState.SKIPPED  # noted now
    assert bus.status(first.id).members["fast"].state is DeliveryState.HANDLED


def test_an_unknown_a_malformed_and_another_namespaces_id_are_refused(
    bus: Bus, settings: BusSettings
) -> None:
    with pytest.raises(UnknownMessage) as unknown:
        bus.status(uuid.uuid4())
    assert "message_id" in unknown.value.context
    with pytest.raises(InvalidArgument):
        bus.status("not-an-id")
    with pytest.raises(InvalidArgument):
        bus.wait_for(uuid.uuid4(), "delivered")
    other = Bus(settings.model_copy(update={"namespace": settings.namespace + "-other"}))
    with other:
        try:
            other.register_agent("ann", channels=["#engineering"])
            theirs = other.publish("#engineering", "elsewhere", sender="ceo")
            with pytest.raises(UnknownMessage):
                bus.status(theirs.id)
        finally:
            other.destroy()


def test_the_asyncio_surfaces_await_status_and_wait_for(bus: Bus) -> None:
    async def main() -> None:
        async with AsyncBus(bus) as abus:
            ann = await abus.agent("ann", channels=["#engineering"])
            posted = await ann.publish("#engineering", "hi")
            status = await abus.status(posted.id)
            assert status.members["ann"].state is DeliveryState.QUEUED
            await ann.receive(timeout=5)
            handled = await ann.wait_for(posted.id, timeout=5)
            assert handled.reached("handled")

    asyncio.run(main())


@pytest.fixture
def redis_settings() -> Iterator[BusSettings]:
    require("redis")
    settings = settings_for("redis")
    yield settings
    Bus(settings).start().destroy()


def test_bus_status_exits_0_3_4_and_2_and_prints_json(redis_settings: BusSettings) -> None:
    env = cli_environment(redis_settings)
    with Bus(redis_settings) as bus:
        bus.register_agent("ann", channels=["#engineering"])
        bus.register_agent("bob", channels=["#engineering"])
        published = run_bus(env, "publish", "#engineering", "status please", "--sender", "ceo")
        assert published.returncode == 0, published.stderr
        found = re.search(r"id ([0-9a-f-]{36})", published.stdout)
        assert found is not None, published.stdout
        message_id = found.group(1)
        queued = run_bus(env, "status", message_id)
        assert queued.returncode == 3, queued.stderr
        assert re.search(r"ann\s+queued", queued.stdout)
        bus.receive("ann", timeout=5)
        bus.receive("bob", timeout=5)
        handled = run_bus(env, "status", message_id, "--wait", "handled", "--timeout", "5")
        assert handled.returncode == 0, handled.stderr
        message = bus.history("#engineering")[-1]
        letter = DeadLetter(
            agent="bob", channel="#engineering", seq=1, message=message, error="boom", attempts=4
        )
        dead_letter(bus, letter)
        failed = run_bus(env, "--json", "status", message_id)
        assert failed.returncode == 4, failed.stderr
        shown = json.loads(failed.stdout)
        assert shown["message_id"] == message_id
        assert shown["members"]["bob"]["state"] == "dead_lettered"
        assert shown["members"]["bob"]["error"] == "boom"
        assert shown["members"]["ann"] == {**shown["members"]["ann"], "state": "handled"}
    assert_one_line_error(run_bus(env, "status", "nope"), 2, "not a message id")
    assert_one_line_error(run_bus(env, "status", str(uuid.uuid4())), 2, "no message")
    # Pushed receipts: bus register --receipts opts a pull sender in, --no-receipts out.
    assert run_bus(env, "register", "carol", "--receipts").returncode == 0
    with Bus(redis_settings) as bus:
        assert "carol" in bus.store.receipts.consumers()
        assert run_bus(env, "register", "carol", "--no-receipts").returncode == 0
        assert "carol" not in bus.store.receipts.consumers()

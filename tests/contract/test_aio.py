"""AsyncBus and AsyncAgentClient: the bus for asyncio code, on every transport."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from time import monotonic

import pytest

from bus import (
    AsyncBus,
    Bus,
    BusTimeout,
    ChannelKind,
    InvalidArgument,
    Message,
    MessageType,
    NotSubscribed,
    Retention,
    UnknownAgent,
)

WAIT = 5.0


def run(bus: Bus, scenario: Callable[[AsyncBus], Awaitable[None]], max_workers: int = 32) -> None:
    """Run ``scenario`` on an AsyncBus driving ``bus``, in a fresh event loop."""

    async def main() -> None:
        async with AsyncBus(bus, max_workers=max_workers) as abus:
            await scenario(abus)

    asyncio.run(main())


def test_the_async_bus_starts_and_stops_the_bus(bus: Bus) -> None:
    async def scenario(abus: AsyncBus) -> None:
        assert abus.started
        await abus.stop()
        assert not abus.started
        await abus.stop()  # twice is fine
        await abus.start()
        assert abus.started

    run(bus, scenario)
    assert not bus.started


def test_a_pool_without_threads_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="max_workers"):
        AsyncBus(Bus(), max_workers=0)


def test_channels_and_agents_are_managed_with_awaits(bus: Bus) -> None:
    async def scenario(abus: AsyncBus) -> None:
        created = await abus.create_channel("#ops", kind="broadcast", retention=Retention())
        assert created.spec.kind is ChannelKind.BROADCAST
        assert (await abus.get_channel("#ops")).name == "#ops"
        assert "#ops" in [info.name for info in await abus.list_channels()]
        await abus.register_agent("alice", channels=["#design"])
        assert await abus.agents() == ["alice"]
        assert await abus.subscribe("alice", "#product") is True
        assert await abus.unsubscribe("alice", "#design") is True
        assert await abus.subscriptions("alice") == ["#all-hands", "#ops", "#product"]

    run(bus, scenario)


def test_what_the_async_bus_lacked_is_awaited_too(bus: Bus) -> None:
    """update_channel, register_agents, subscribe_many, post's options, skipped and destroy:
    the operations AsyncBus lacked before it was derived from bus.api's declaration."""

    async def scenario(abus: AsyncBus) -> None:
        await abus.create_channel("#ops")
        updated = await abus.update_channel("#ops", retention=Retention(max_messages=5))
        assert updated.spec.retention.max_messages == 5
        await abus.register_agents({"ann": ["#ops"], "ben": []})
        assert await abus.agents() == ["ann", "ben"]
        assert await abus.subscribe_many("ben", ["#ops", "#design"]) == [True, True]
        message = Message(channel="#ops", sender="ann", content="once")
        first = await abus.post(message, idempotent=True, max_bytes=10_000)
        assert (await abus.post(message, idempotent=True)).seq == first.seq
        assert len(await abus.history("#ops")) == 1
        assert abus.skipped == {}
        await abus.destroy()
        assert not abus.started
        await abus.start()
        assert await abus.agents() == []

    run(bus, scenario)


def test_published_sent_and_posted_messages_are_received(bus: Bus) -> None:
    async def scenario(abus: AsyncBus) -> None:
        await abus.register_agent("alice")
        await abus.register_agent("bob", channels=["#engineering"])
        await abus.publish("#engineering", "one", sender="alice", type=MessageType.TASK_UPDATE)
        await abus.send("bob", "two", sender="alice")
        await abus.post(Message(channel="#engineering", sender="alice", content="three"))
        got = [await abus.receive("bob", timeout=WAIT) for _ in range(3)]
        assert sorted(m.content for m in got if m is not None) == ["one", "three", "two"]
        history = await abus.history("#engineering", after=1)
        assert [m.content for m in history] == ["three"]
        assert await abus.receive("bob", timeout=0) is None

    run(bus, scenario)


def test_receive_returns_none_when_the_timeout_passes(bus: Bus) -> None:
    async def scenario(abus: AsyncBus) -> None:
        await abus.register_agent("bob")
        started = monotonic()
        assert await abus.receive("bob", timeout=1.3) is None  # longer than one slice
        assert 1.2 <= monotonic() - started < 1.3 + WAIT

    run(bus, scenario)


def test_receive_refuses_what_the_bus_refuses(bus: Bus) -> None:
    async def scenario(abus: AsyncBus) -> None:
        await abus.register_agent("bob")
        with pytest.raises(InvalidArgument, match="timeout"):
            await abus.receive("bob", timeout=-1)
        with pytest.raises(UnknownAgent):
            await abus.receive("nobody", timeout=0)
        with pytest.raises(NotSubscribed):
            await abus.receive("bob", channel="#product", timeout=0)

    run(bus, scenario)


def test_many_waiting_receives_neither_block_each_other_nor_the_default_executor(
    bus: Bus,
) -> None:
    agents = [f"agent-{number}" for number in range(12)]

    async def scenario(abus: AsyncBus) -> None:
        loop = asyncio.get_running_loop()
        for agent in agents:
            await abus.register_agent(agent)
        waiting = [asyncio.create_task(abus.receive(agent, timeout=WAIT)) for agent in agents]
        await asyncio.sleep(0.2)
        # The loop's own executor is free while twelve agents wait on the bus's pool.
        name = await asyncio.wait_for(
            loop.run_in_executor(None, lambda: threading.current_thread().name), 1
        )
        assert not name.startswith("bus-aio")
        await abus.publish("#all-hands", "standup", sender="agent-0")
        got = await asyncio.gather(*waiting)
        assert [m.content if m else None for m in got] == ["standup"] * len(agents)

    run(bus, scenario, max_workers=16)


def test_a_cancelled_receive_loses_no_message(bus: Bus) -> None:
    async def scenario(abus: AsyncBus) -> None:
        await abus.register_agent("alice")
        await abus.register_agent("bob")
        waiting = asyncio.create_task(abus.receive("bob"))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        # The cancelled receive left nothing waiting that could claim this message.
        await abus.send("bob", "are you there?", sender="alice")
        got = await abus.receive("bob", timeout=WAIT)
        assert got is not None
        assert got.content == "are you there?"
        assert await abus.receive("bob", timeout=0) is None

    run(bus, scenario)


@pytest.fixture
def cpu_hog() -> Iterator[None]:
    """A process spinning on a core while the test runs (the loop and the bus's threads get
    less time: a cancellation lands at more places)."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        hog.kill()
        hog.wait()


ROUNDS = 200


def test_cancelled_receives_beside_a_cpu_hog_never_claim_lose_or_delay_a_message(
    bus: Bus, cpu_hog: None
) -> None:
    """Each round cancels a receive at another point (before it ran, while it waits, as its
    message arrives); the message is then the next receive's at once (``timeout=0``): the
    cancelled receive claimed nothing, and nothing it left behind claims anything later."""

    async def scenario(abus: AsyncBus) -> None:
        await abus.register_agent("alice")
        await abus.register_agent("bob", channels=["#engineering"])
        received: list[str] = []
        for number in range(ROUNDS):
            channel = "#engineering" if number % 2 else None
            waiting = asyncio.create_task(abus.receive("bob", channel=channel))
            for _ in range(number % 4):  # 0-3 turns of the loop: cancelled at another step
                await asyncio.sleep(0)
            if channel is None:
                await abus.send("bob", f"m{number}", sender="alice")
            else:
                await abus.publish(channel, f"m{number}", sender="alice")
            waiting.cancel()
            try:
                got = await waiting  # it may have returned the message before the cancel
            except asyncio.CancelledError:
                got = await abus.receive("bob", timeout=0)
            assert got is not None, f"round {number}: the message was not at hand"
            received.append(got.content)
            assert await abus.receive("bob", timeout=0) is None
        assert received == [f"m{number}" for number in range(ROUNDS)]

    run(bus, scenario)


def test_a_receive_cut_short_by_wait_for_keeps_the_order(bus: Bus) -> None:
    async def scenario(abus: AsyncBus) -> None:
        await abus.register_agent("alice")
        await abus.register_agent("bob", channels=["#engineering"])
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(abus.receive("bob"), 0.1)
        for number in range(1, 4):
            await abus.publish("#engineering", f"step {number}", sender="alice")
        got = [await abus.receive("bob", channel="#engineering", timeout=WAIT) for _ in range(3)]
        assert [m.seq for m in got if m is not None] == [1, 2, 3]

    run(bus, scenario)


def test_an_async_agent_client_publishes_sends_and_replies_as_itself(bus: Bus) -> None:
    async def scenario(abus: AsyncBus) -> None:
        alice = await abus.agent("alice")
        bob = await abus.agent("bob", channels=["#design"])
        assert (alice.name, repr(bob)) == ("alice", "AsyncAgentClient('bob')")
        posted = await alice.publish("#design", "mockups ready", type="review_request")
        seen = await bob.receive("#design", timeout=WAIT)
        assert seen is not None
        assert (seen.sender, seen.id) == ("alice", posted.id)
        await bob.reply(seen, "approved", type=MessageType.APPROVAL)
        answer = await alice.receive(timeout=WAIT)
        assert answer is not None
        assert (answer.sender, answer.correlation_id, answer.type) == (
            "bob",
            posted.id,
            MessageType.APPROVAL,
        )
        await alice.send("bob", "thanks")
        thanks = await bob.receive(timeout=WAIT)
        assert thanks is not None
        assert thanks.sender == "alice"
        with pytest.raises(InvalidArgument, match="sender"):
            await alice.send("bob", "spoof", sender="bob")  # type: ignore[call-arg]
        assert [m.content for m in await alice.history("#design", limit=1)] == ["mockups ready"]

    run(bus, scenario)


def test_an_async_agent_client_manages_its_subscriptions(bus: Bus) -> None:
    async def scenario(abus: AsyncBus) -> None:
        alice = await abus.agent("alice")
        assert await alice.subscribe("#product") is True
        assert await alice.subscriptions() == ["#all-hands", "#product"]
        assert await alice.unsubscribe("#product") is True
        assert await alice.subscriptions() == ["#all-hands"]

    run(bus, scenario)


def test_an_async_request_waits_without_blocking_the_loop(bus: Bus) -> None:
    async def scenario(abus: AsyncBus) -> None:
        alice = await abus.agent("alice")
        bob = await abus.agent("bob")

        async def answer() -> None:
            asked = await bob.receive(timeout=WAIT)
            assert asked is not None
            await bob.reply(asked, "pong")

        responder = asyncio.create_task(answer())
        reply = await alice.request("bob", "ping", timeout=WAIT)
        await responder
        assert (reply.sender, reply.content) == ("bob", "pong")
        with pytest.raises(BusTimeout) as caught:
            await abus.request("alice", "you there?", sender="bob", timeout=0.2)
        assert caught.value.agent == "alice"

    run(bus, scenario)


def test_direct_history_is_read_through_the_async_bus(bus: Bus) -> None:
    async def scenario(abus: AsyncBus) -> None:
        alice = await abus.agent("alice")
        await abus.register_agent("bob")
        await alice.send("bob", "one")
        await alice.send("bob", "two")
        assert [m.content for m in await abus.direct_history("bob", after=1)] == ["two"]
        assert [m.content for m in await alice.direct_history()] == []

    run(bus, scenario)

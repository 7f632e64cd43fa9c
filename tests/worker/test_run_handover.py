"""A message stored while its stream's run makes its last read is read at once, not stranded.

A run reads its stream until the store finds nothing more, and gives the lease up in that same
step. These tests store message #2 inside that last read of #1's run (a wrapper around the
store's ``advance``, on the run's I/O thread as with a Redis store: the in-process store is made
to say it waits on a server), so what asks the run for #2 reaches it while the read under way
cannot see #2:

- the publish in this process (its observer kicks the run of the local agent), and
- a broker delivery of #2, which joins the active run and waits for #2's outcome.

Before the fix the run ended without reading #2 and told the delivery ``already``; #2 waited
for the stream's next message. Nothing here asserts a duration: every wait is a deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bus import Bus
from bus.channels import Stream
from bus.message import Message
from bus.settings import BusSettings
from bus.testing import settings_for
from bus.worker import Agent
from bus.worker.outcomes import Status
from bus.worker.runtime import Runtime
from tests.worker.harness import FAST

pytestmark = pytest.mark.memory

CHANNEL = "#handover"
AGENT = "late-reader"


class Recorder:
    """The seqs ``AGENT`` handled, and an event set once #2 is among them."""

    def __init__(self) -> None:
        self.handled: list[int] = []
        self.second = threading.Event()

    def agent(self) -> Agent:
        agent = Agent(AGENT, channels=[CHANNEL])

        @agent.on()
        async def record(message: Message, ctx: Any) -> None:
            assert message.seq is not None
            self.handled.append(message.seq)
            if message.seq == 2:
                self.second.set()

        return agent


def _settings() -> BusSettings:
    # Each broker delivery is its own (no coalescing): the test drives the runs itself.
    return settings_for("memory", coalesce_deliveries=False, **FAST)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def hosted(
    recorder: Recorder, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Bus, Runtime]]:
    """A bus and a runtime hosting ``AGENT``; the store's calls on I/O threads (as on Redis),
    or with ``waits_on_server`` False (indirect parameter) on the loop, as memory:// makes
    them."""
    bus = Bus(_settings()).start()
    monkeypatch.setattr(bus.store, "waits_on_server", getattr(request, "param", True))
    bus.create_channel(CHANNEL)
    bus.register_agent(AGENT, channels=[CHANNEL])
    runtime = Runtime(bus, {AGENT: recorder.agent()})
    try:
        yield bus, runtime
    finally:
        runtime.close()
        bus.stop()


def _inside_last_read(
    monkeypatch: pytest.MonkeyPatch, bus: Bus, store_second: Callable[[], object]
) -> threading.Event:
    """Call ``store_second()`` inside the read that finds nothing after #1 (once); the event
    is set once it returned."""
    leases = bus.store.leases
    advance = leases.advance
    called = threading.Event()
    once = threading.Lock()

    def advance_then_store(*args: Any) -> Any:  # (agent, stream, token, ttl, seq, limit)
        step = advance(*args)
        seq = args[4]
        if seq == 1 and step.entry is None and once.acquire(blocking=False):
            store_second()
            called.set()
        return step

    monkeypatch.setattr(leases, "advance", advance_then_store)
    return called


@pytest.mark.parametrize("hosted", [True, False], indirect=True, ids=["io-threads", "on-loop"])
def test_a_post_stored_during_the_last_read_is_read_by_the_next_run(
    hosted: tuple[Bus, Runtime], recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus, _ = hosted
    # #2 is published by the process's own bus: its observer kicks the local agent's run,
    # which is still active (closing only after this read returns).
    called = _inside_last_read(
        monkeypatch, bus, lambda: bus.publish(CHANNEL, "second", sender="cli")
    )
    bus.publish(CHANNEL, "first", sender="cli")  # its observer starts the run

    assert recorder.second.wait(20), f"#2 was stranded; handled {recorder.handled}"
    assert called.is_set()  # #2 was stored inside the read that found nothing after #1
    assert recorder.handled == [1, 2]


def test_a_delivery_that_joined_the_last_read_is_told_its_message_was_handled(
    hosted: tuple[Bus, Runtime], recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus, runtime = hosted
    joined: list[Any] = []

    def store_and_deliver_second() -> None:
        # Another process publishes #2 (no observer here); its broker delivery joins the run.
        with Bus(bus.settings) as other:
            other.publish(CHANNEL, "second", sender="cli")
        second = runtime.runs.deliver(runtime.agent(AGENT), Stream.of(AGENT, CHANNEL), 2, "t2")
        joined.append(runtime._loop.submit(second))
        runtime._loop.submit(_yield()).result(timeout=10)  # the delivery waits on the run now

    called = _inside_last_read(monkeypatch, bus, store_and_deliver_second)
    with Bus(bus.settings) as other:
        other.publish(CHANNEL, "first", sender="cli")
    first = runtime.deliver(AGENT, CHANNEL, 1, "t1")

    assert first.status is Status.HANDLED
    assert called.wait(20)  # #1's outcome is told before its commit's read
    outcome = joined[0].result(timeout=20)
    assert (outcome.status, outcome.handled) == (Status.HANDLED, [2])
    assert recorder.handled == [1, 2]


async def _yield() -> None:
    """Done once the loop ran what was submitted before it."""

"""One order per channel: every subscriber gets the channel's messages in sequence order, with no
gap and no duplicate, whoever publishes, whatever the broker reorders or redelivers, and across a
consumer that dies mid-stream. Each test runs on memory://, Redis and RabbitMQ."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bus import Bus, Message
from bus.settings import BusSettings
from bus.store import channel_stream
from bus.testing import environment_for
from tests.helpers.probe import delivery_of, inject, queue_depth, receive_all

ROOT = Path(__file__).resolve().parents[2]
#: Seconds a receive waits for a message that must come (never reached when all is well).
ARRIVES = 15


def seqs(messages: list[Message]) -> list[int]:
    return [message.seq or 0 for message in messages]


def ids(messages: list[Message]) -> list[str]:
    return [str(message.id) for message in messages]


@contextmanager
def helper(settings: BusSettings, module: str, *args: object) -> Iterator[subprocess.Popen[str]]:
    """Run ``python -m tests.helpers.<module> ARGS`` on the bus of ``settings``; killed (by its
    pid) on the way out if it is still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", f"tests.helpers.{module}", *map(str, args)],
        cwd=ROOT,
        env=environment_for(settings),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def read_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"helper exited early with {process.wait(timeout=10)}"
    return line.strip()


def append_without_delivery(bus: Bus, channel: str, content: str) -> Message:
    """Store a message in the channel's log the way publish does, but send no delivery: as if its
    publisher died between the append and the publish."""
    message = Message(channel=channel, sender="ghostwriter", content=content)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    seq = bus.store.log.append(
        channel_stream(channel),
        message.model_dump_json(exclude={"seq"}),
        now_ms,
        bus.get_channel(channel).spec.retention,
        coalesce=bus.settings.coalesce_deliveries,
    ).seq
    return message.model_copy(update={"seq": seq})


def test_one_publisher_every_subscriber_same_order(bus: Bus) -> None:
    bus.create_channel("#plan")
    agents = ["ann", "bob", "cy"]
    for agent in agents:
        bus.register_agent(agent, channels=["#plan"])
    published = [bus.publish("#plan", f"step {index}", sender="lead") for index in range(40)]
    assert seqs(published) == list(range(1, 41))
    history = bus.history("#plan")
    assert ids(history) == ids(published)
    for agent in agents:
        got = [bus.receive(agent, timeout=ARRIVES) for _ in published]
        assert all(message is not None for message in got)
        assert seqs(got) == list(range(1, 41))  # type: ignore[arg-type]
        assert ids(got) == ids(history)  # type: ignore[arg-type]
        assert bus.receive(agent, timeout=0) is None


def test_direct_messages_keep_the_inbox_order(bus: Bus) -> None:
    bus.register_agent("ann")
    sent = [bus.send("ann", f"q{index}", sender=f"s{index % 3}") for index in range(20)]
    got = receive_all(bus, "ann", wait=0.1)
    assert seqs(got) == list(range(1, 21))
    assert ids(got) == ids(sent)
    assert all(message.recipient == "ann" and message.channel is None for message in got)


def start_consumers(
    bus: Bus, agents: list[str], channel: str, total: int
) -> tuple[list[threading.Thread], dict[str, list[Message]]]:
    """A thread per agent receiving from ``channel`` until it has ``total`` messages (or one
    does not come in time); what each received."""
    received: dict[str, list[Message]] = {}

    def consume(agent: str) -> None:
        got: list[Message] = []
        while len(got) < total:
            message = bus.receive(agent, channel=channel, timeout=ARRIVES)
            if message is None:
                break
            got.append(message)
        received[agent] = got

    threads = [threading.Thread(target=consume, args=(agent,), daemon=True) for agent in agents]
    for thread in threads:
        thread.start()
    return threads, received


def publish_in_threads(bus: Bus, channel: str, senders: list[str], each: int) -> None:
    """``each`` messages from each sender, the senders publishing at once in threads."""
    start = threading.Barrier(len(senders))

    def publish(sender: str) -> None:
        start.wait()
        for index in range(each):
            bus.publish(channel, f"{sender}:{index}", sender=sender)

    threads = [threading.Thread(target=publish, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def publish_in_processes(
    settings: BusSettings, channel: str, senders: list[str], each: int
) -> None:
    """``each`` messages from each sender, each a publisher process, all told to go at once."""
    with ExitStack() as stack:
        processes = [
            stack.enter_context(helper(settings, "publisher", channel, sender, each))
            for sender in senders
        ]
        for process in processes:
            assert read_line(process) == "ready"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in processes:
            assert read_line(process) == "done"
            assert process.wait(timeout=30) == 0


@pytest.mark.slow
def test_concurrent_publishers_one_order_for_all(
    bus: Bus, settings: BusSettings, transport: str
) -> None:
    """Three publisher processes at once, three agents receiving while they publish.

    On memory:// the store lives in one process (another process cannot share it), so the
    publishers are threads of this process there; on Redis and RabbitMQ they are processes.
    """
    senders, each = ["p0", "p1", "p2"], 30
    total = len(senders) * each
    bus.create_channel("#orders")
    agents = ["ann", "bob", "cy"]
    for agent in agents:
        bus.register_agent(agent, channels=["#orders"])
    consumers, received = start_consumers(bus, agents, "#orders", total)
    if transport == "memory":
        publish_in_threads(bus, "#orders", senders, each)
    else:
        publish_in_processes(settings, "#orders", senders, each)
    for thread in consumers:
        thread.join(60)

    history = bus.history("#orders")
    assert seqs(history) == list(range(1, total + 1))
    for agent in agents:
        assert seqs(received[agent]) == list(range(1, total + 1)), agent
        assert ids(received[agent]) == ids(history), agent
        assert bus.receive(agent, timeout=0) is None
    # Each publisher's own messages keep the order it published them in.
    for sender in senders:
        mine = [m.content for m in history if m.sender == sender]
        assert mine == [f"{sender}:{index}" for index in range(each)]


@pytest.mark.slow
@pytest.mark.parametrize("publish_after", [0, 10], ids=["tail", "more-after"])
def test_consumer_killed_mid_stream(
    bus: Bus, settings: BusSettings, transport: str, publish_after: int
) -> None:
    """A consumer that dies holding unacknowledged deliveries loses nothing and repeats nothing:
    its successor for the same agent goes on right after the last message the dead one got.

    On Redis and RabbitMQ the consumer is a process, SIGKILLed while the broker has handed it
    deliveries it never acknowledged (Redis keeps them invisible for an hour, RabbitMQ requeues
    them). On memory:// (one process) it is simulated: the bus is stopped without draining what
    its consumer prefetched, and started again.
    """
    before, taken = 40, 15
    bus.create_channel("#jobs")
    bus.register_agent("worker", channels=["#jobs"])
    published = [bus.publish("#jobs", f"job {index}", sender="boss") for index in range(before)]

    if transport == "memory":
        dead = [bus.receive("worker", channel="#jobs", timeout=ARRIVES) for _ in range(taken)]
        dead_got = [(m.seq, str(m.id)) for m in dead if m is not None]
        bus.stop()
        bus.start()
    else:
        with helper(settings, "consumer", "worker", "#jobs", taken) as process:
            lines = [read_line(process) for _ in range(taken)]
            assert read_line(process).startswith("holding")
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        dead_got = [(int(seq), id_) for seq, id_ in (line.split() for line in lines)]

    assert dead_got == [(m.seq, str(m.id)) for m in published[:taken]]
    published += [
        bus.publish("#jobs", f"late {index}", sender="boss") for index in range(publish_after)
    ]
    rest = [bus.receive("worker", timeout=ARRIVES) for _ in range(len(published) - taken)]
    assert all(message is not None for message in rest)
    assert seqs(rest) == list(range(taken + 1, len(published) + 1))  # type: ignore[arg-type]
    assert ids(rest) == ids(published[taken:])  # type: ignore[arg-type]
    assert bus.receive("worker", timeout=0.3) is None


def test_broker_duplicates_and_reordering_never_reach_the_agent(bus: Bus) -> None:
    """Deliveries handed over twice or out of order (as a broker may) change nothing: the agent
    gets each message once, in sequence order; a message stored whose delivery never went out
    is still handed over, from the log."""
    bus.create_channel("#dup")
    bus.register_agent("ann", channels=["#dup"])
    bus.register_agent("bob", channels=["#dup"])
    for agent in ("ann", "bob"):  # consumers open and caught up: deliveries are what wakes them
        assert bus.receive(agent, timeout=0) is None
    first = [bus.publish("#dup", f"first {index}", sender="lead") for index in range(5)]
    for message in (first[3], first[0], first[4], first[4], first[1]):
        inject(bus, delivery_of(message, "ann"))
    got = receive_all(bus, "ann", wait=0.1)
    assert seqs(got) == [1, 2, 3, 4, 5]
    assert ids(got) == ids(first)

    # Stored, but the deliveries come reversed and twice; bob gets none of them at all.
    later = [append_without_delivery(bus, "#dup", f"later {index}") for index in range(5)]
    for message in reversed(later):
        inject(bus, delivery_of(message, "ann"))
        inject(bus, delivery_of(message, "ann"))
    got = receive_all(bus, "ann", wait=0.1)
    assert seqs(got) == [6, 7, 8, 9, 10]
    assert ids(got) == ids(later)
    assert queue_depth(bus, "ann") == 0

    bob = receive_all(bus, "bob", wait=0.1)
    assert seqs(bob) == list(range(1, 11))
    assert ids(bob) == ids(first + later)

    # A redelivery of something long handed over is dropped, and what follows comes once.
    inject(bus, delivery_of(first[2], "ann"))
    last = bus.publish("#dup", "last", sender="lead")
    inject(bus, delivery_of(last, "ann"))
    assert seqs(receive_all(bus, "ann", wait=0.1)) == [11]


def test_foreign_messages_in_an_agent_queue_are_dropped(bus: Bus) -> None:
    """Something that is not a bus delivery in an agent's queue (another task, a hand-made
    message) is acknowledged and dropped; the agent's stream goes on undisturbed."""
    bus.create_channel("#ops")
    bus.register_agent("ann", channels=["#ops"])
    one = bus.publish("#ops", "one", sender="lead")
    with bus.app.producer_or_acquire() as producer:
        for headers, body in (
            ({"task": "other.task"}, [["x"], {}, {}]),
            ({"task": "bus.deliver"}, {"not": "a task body"}),
            ({"task": "bus.deliver"}, [["ann", "#ops", "one"], {}, {}]),
        ):
            producer.publish(
                body,
                exchange=bus.topology.direct_exchange,
                routing_key="ann",
                headers=headers,
                serializer="json",
                declare=[bus.topology.direct_exchange],
            )
    two = bus.publish("#ops", "two", sender="lead")
    got = receive_all(bus, "ann", wait=0.1)
    assert ids(got) == ids([one, two])
    assert queue_depth(bus, "ann") == 0

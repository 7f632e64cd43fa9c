"""Pull receive with ``receive_batch`` > 1: batches taken under a lease (bus.held) hand every
message over once, in each stream's order; a reader that dies holding one loses nothing."""

from __future__ import annotations

import os
import signal

import pytest

from bus import Bus, Message
from bus.settings import BusSettings
from tests.contract.test_ordering import ARRIVES, helper, read_line

BATCH = 8


@pytest.fixture
def settings(settings: BusSettings) -> BusSettings:
    """The transport's settings, with batches (and a lease short enough to outwait)."""
    return settings.model_copy(update={"receive_batch": BATCH, "lease_seconds": 1.0})


def drain(bus: Bus, agent: str, timeout: float = 0.5) -> list[Message]:
    got = []
    while (message := bus.receive(agent, timeout=timeout)) is not None:
        got.append(message)
    return got


def seq_of(message: Message) -> int:
    assert message.seq is not None
    return message.seq


def test_batches_hand_each_message_over_once_in_stream_order(bus: Bus) -> None:
    bus.create_channel("#eng")
    bus.create_channel("#ops")
    bus.register_agent("ann", channels=["#eng", "#ops"])
    sent: dict[str | None, list[int]] = {"#eng": [], "#ops": [], None: []}
    for index in range(3 * BATCH):
        sent["#eng"].append(seq_of(bus.publish("#eng", f"e{index}", sender="boss")))
        if index % 3 == 0:
            sent["#ops"].append(seq_of(bus.publish("#ops", f"o{index}", sender="boss")))
        if index % 5 == 0:
            sent[None].append(seq_of(bus.send("ann", f"d{index}", sender="boss")))
    # A filtered receive in the middle of a batch of another stream takes its own stream.
    first = bus.receive("ann", timeout=ARRIVES)
    assert first is not None
    ops = bus.receive("ann", channel="#ops", timeout=ARRIVES)
    assert ops is not None
    assert ops.channel == "#ops"
    got = [first, ops, *drain(bus, "ann")]
    for channel, seqs in sent.items():
        assert [m.seq for m in got if m.channel == channel] == seqs, channel
    assert len(got) == sum(len(seqs) for seqs in sent.values())


def test_a_stopped_reader_gives_its_batch_back(bus: Bus) -> None:
    bus.create_channel("#eng")
    bus.register_agent("ann", channels=["#eng"])
    for index in range(2 * BATCH):
        bus.publish("#eng", f"m{index}", sender="boss")
    taken = [bus.receive("ann", timeout=ARRIVES) for _ in range(3)]
    bus.stop()
    bus.start()
    rest = drain(bus, "ann")
    assert [m.seq for m in taken if m is not None] + [m.seq for m in rest] == list(
        range(1, 2 * BATCH + 1)
    )


@pytest.mark.slow
def test_a_reader_killed_holding_a_batch_loses_nothing(
    bus: Bus, settings: BusSettings, transport: str
) -> None:
    """The successor waits for the dead reader's lease to lapse, then hands over everything
    after its last commit: what the dead one got of its batch may come twice (at most a batch),
    nothing is missing, and the order holds."""
    if transport == "memory":
        pytest.skip("memory:// lives in one process: there is no reader process to kill")
    total, taken = 3 * BATCH, BATCH + 3
    bus.create_channel("#jobs")
    bus.register_agent("worker", channels=["#jobs"])
    for index in range(total):
        bus.publish("#jobs", f"job {index}", sender="boss")
    with helper(settings, "consumer", "worker", "#jobs", taken) as process:
        got = [int(read_line(process).split()[0]) for _ in range(taken)]
        assert read_line(process).startswith("holding")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    assert got == list(range(1, taken + 1))
    rest = [seq_of(m) for m in drain(bus, "worker", timeout=3)]
    assert rest[-1] == total, repr(rest)
    assert rest == list(range(rest[0], total + 1))  # in order, no gap
    assert taken + 1 - BATCH <= rest[0] <= taken + 1  # repeats at most one batch

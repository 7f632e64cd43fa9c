"""A member further behind than its channel's retention, under each overflow policy.

``drop-oldest``: the oldest messages are trimmed anyway, and the member learns how many it
skipped (``Entry.skipped``, ``ctx.skipped`` in a worker, a warning and the reader's counter):
every acknowledged message is handled or reported skipped. ``reject-publish``: the publish that
would trim an unread message fails with ``PublishRejected`` naming the lagging member, and
nothing acknowledged is lost. ``bus agents`` shows each agent's lag.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bus import Bus
from bus.broker.celery_app import create_app
from bus.channels import Overflow, Retention
from bus.errors import PublishRejected
from bus.message import Message
from bus.worker import Agent, Context, EmbeddedWorker, install
from tests.brokers import require, settings_for
from tests.helpers.cli_support import cli_environment, run_bus
from tests.worker.harness import FAST, wait_for

CHANNEL = "#engineering"
KEEP = 5


@pytest.fixture(params=["memory", "redis"])
def bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    require(request.param)
    started = Bus(settings_for(request.param)).start()
    try:
        started.register_agent("bob", channels=[CHANNEL])
        started.register_agent("fast", channels=[CHANNEL])
        yield started
    finally:
        started.destroy()


def _seq(message: Message) -> int:
    assert message.seq is not None  # a published message is numbered
    return message.seq


def _drain(bus: Bus, agent: str) -> list[int]:
    seqs = []
    while (message := bus.receive(agent, channel=CHANNEL, timeout=0.5)) is not None:
        assert message.seq is not None
        seqs.append(message.seq)
    return seqs


def test_drop_oldest_tells_a_lagging_member_how_many_it_skipped(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    bus.update_channel(CHANNEL, retention=Retention(max_messages=KEEP))
    acknowledged = [_seq(bus.publish(CHANNEL, f"m{i}", sender="alice")) for i in range(12)]
    with caplog.at_level(logging.WARNING, logger="bus.reading.reader"):
        handled = _drain(bus, "bob")
    skipped = bus.skipped[("bob", f"c:{CHANNEL}")]
    lost = sorted(set(acknowledged) - set(handled))
    print(
        f"drop-oldest: sent 12, acked {len(acknowledged)}, handled {len(handled)}, "
        f"duplicated {len(handled) - len(set(handled))}, lost {len(lost)}, reported {skipped}"
    )
    assert handled == acknowledged[-KEEP:]
    assert skipped == len(lost) == 12 - KEEP, "every loss is reported"
    assert any("skipped 7 message(s)" in r.getMessage() for r in caplog.records)


def test_a_worker_run_sees_what_retention_trimmed_as_the_entry_s_skipped(bus: Bus) -> None:
    bus.update_channel(CHANNEL, retention=Retention(max_messages=KEEP))
    for index in range(9):
        bus.publish(CHANNEL, f"m{index}", sender="alice")
    step = bus.store.leases.begin("bob", f"c:{CHANNEL}", "token", 5_000, 100)
    assert step.entry is not None
    assert (step.entry.seq, step.entry.skipped) == (5, 4)  # what ctx.skipped carries
    after = bus.store.leases.advance("bob", f"c:{CHANNEL}", "token", 5_000, 5, 100)
    assert after.entry is not None
    assert after.entry.skipped == 0


def test_reject_publish_refuses_what_would_trim_an_unread_message_and_loses_nothing(
    bus: Bus,
) -> None:
    bus.update_channel(
        CHANNEL, retention=Retention(max_messages=KEEP), overflow=Overflow.REJECT_PUBLISH
    )
    sent, acknowledged, rejected = 0, list[int](), []
    for index in range(12):
        sent += 1
        try:
            acknowledged.append(_seq(bus.publish(CHANNEL, f"m{index}", sender="alice")))
        except PublishRejected as exc:
            rejected.append(exc)
        _drain(bus, "fast")  # one member keeps up; bob does not read at all
    assert len(acknowledged) == KEEP
    assert rejected
    assert rejected[0].lagging == ["bob"]
    assert "bob" in str(rejected[0])
    assert bus.get_channel(CHANNEL).last_seq == KEEP, "a rejected publish stores nothing"
    handled = _drain(bus, "bob")
    lost = sorted(set(acknowledged) - set(handled))
    print(
        f"reject-publish: sent {sent}, acked {len(acknowledged)}, rejected {len(rejected)}, "
        f"handled {len(handled)}, lost {len(lost)}"
    )
    assert lost == []
    assert bus.publish(CHANNEL, "bob caught up", sender="alice").seq == KEEP + 1


def test_bus_agents_shows_each_agent_s_lag_per_channel() -> None:
    require("redis")
    settings = settings_for("redis")
    with Bus(settings) as bus:
        bus.register_agent("bob", channels=[CHANNEL])
        for index in range(3):
            bus.publish(CHANNEL, f"m{index}", sender="alice")
        bus.send("bob", "dm", sender="alice")
    try:
        done = run_bus(cli_environment(settings), "agents")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0].split() == ["AGENT", "SUBSCRIPTIONS", "LAG"]
        assert "#engineering 3, DM 1" in done.stdout
    finally:
        Bus(settings).start().destroy()


def test_a_handler_s_context_says_how_many_messages_retention_trimmed_before_it() -> None:
    settings = settings_for("memory", **FAST)
    seen: list[tuple[int, int]] = []
    slow = Agent("slow", channels=["#lagging"])

    @slow.on()
    def handle(message: Message, ctx: Context) -> None:
        assert message.seq is not None
        seen.append((message.seq, ctx.skipped))

    with Bus(settings) as bus:
        bus.create_channel("#lagging", retention=Retention(max_messages=3))
        bus.register_agent("slow", channels=["#lagging"])
        for index in range(10):  # published while no worker hosts it: it falls behind
            bus.publish("#lagging", f"m{index}", sender="alice")
        app = create_app(settings)
        install(app, settings, {"slow": slow})
        with EmbeddedWorker(app, pool="threads", concurrency=2):
            wait_for(lambda: len(seen) >= 3, 20, "the lagging agent to catch up")
        bus.destroy()
    assert seen == [(8, 7), (9, 0), (10, 0)]

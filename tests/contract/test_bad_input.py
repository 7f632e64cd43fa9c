"""Bad input changes nothing: each refused call raises its own error class from bus.errors,
names what was wrong in ``err.context``, and leaves channels, agents, heads, histories,
positions and broker queues exactly as they were. Each test runs on memory://, Redis and
RabbitMQ."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from bus import (
    Bus,
    ChannelExists,
    InvalidArgument,
    InvalidMessage,
    InvalidName,
    Message,
    MessageDecodeError,
    MessageTooLarge,
    NotSubscribed,
    Retention,
    UnknownAgent,
    UnknownChannel,
)
from bus.errors import BusError
from config.settings import BusSettings
from tests.brokers import settings_for
from tests.helpers.probe import receive_all, snapshot

LIMIT = 2048

BAD_AGENT_NAMES: list[Any] = [
    "has space",
    "../x",
    "",
    "a" * 200,
    42,
    None,
    ["alice"],
    "-lead",
    "x/y",
    "tab\tname",
    "ünïcode",
    "new\nline",
]
BAD_CHANNEL_NAMES: list[Any] = [
    "",
    " ",
    "a b",
    " #ok",
    "#ok ",
    "tab\t",
    "nl\n",
    "nul\x00",
    "bell\x07",
    "zero\u200bwidth",
    "x" * 65,
    "é" * 64,
    42,
    ["#ok"],
    {"#ok": 1},
]


@pytest.fixture
def settings(transport: str) -> BusSettings:
    """Small messages only, to test the size limit cheaply; one default channel (a broadcast
    one), to keep the snapshot taken after every refused call small."""
    return settings_for(transport, max_message_bytes=LIMIT, default_channels=("#all-hands",))


@pytest.fixture
def world(bus: Bus) -> dict[str, Any]:
    """Channels, agents, messages and queued deliveries that refused calls must not touch."""
    bus.create_channel("#ok")
    bus.create_channel("#other")
    bus.register_agent("alice", channels=["#ok"])
    bus.register_agent("bob", channels=["#ok"])
    bus.register_agent("carol", channels=["#other"])
    for index in range(3):
        bus.publish("#ok", f"ok {index}", sender="alice")
    bus.publish("#other", "other", sender="carol")
    bus.send("alice", "hello", sender="bob")
    return {"store": snapshot(bus, queues=False), "all": snapshot(bus)}


def refuse(
    bus: Bus,
    before: dict[str, Any],
    call: Callable[[], object],
    error: type[BusError],
    **context: Any,
) -> BusError:
    """``call`` raises exactly ``error`` with ``context`` in ``err.context``; nothing changed."""
    with pytest.raises(BusError) as info:
        call()
    err = info.value
    assert type(err) is error, f"{type(err).__name__}: {err}"
    for key, value in context.items():
        assert key in err.context, f"{key!r} not in {err.context}"
        assert err.context[key] == value, (key, err.context)
    assert snapshot(bus, queues=False) == before["store"]
    return err


def failing_fields(err: BusError) -> set[str]:
    return {error["field"] for error in err.context["errors"]}


def assert_untouched(bus: Bus, world: dict[str, Any]) -> None:
    """Nothing was queued for anyone, and every agent still receives exactly what the world
    sent it, nothing else."""
    assert snapshot(bus) == world["all"]
    got = {agent: [m.content for m in receive_all(bus, agent, wait=0.1)] for agent in bus.agents()}
    assert sorted(got["alice"]) == ["hello", "ok 0", "ok 1", "ok 2"]
    assert got["bob"] == ["ok 0", "ok 1", "ok 2"]
    assert got["carol"] == ["other"]


def test_hostile_agent_names(bus: Bus, world: dict[str, Any]) -> None:
    for name in BAD_AGENT_NAMES:
        refuse(bus, world, lambda n=name: bus.register_agent(n), InvalidName, agent=name)
        refuse(
            bus,
            world,
            lambda n=name: bus.register_agent(n, channels=["#ok"]),
            InvalidName,
            agent=name,
        )
        refuse(bus, world, lambda n=name: bus.subscribe(n, "#ok"), InvalidName, agent=name)
        refuse(bus, world, lambda n=name: bus.unsubscribe(n, "#ok"), InvalidName, agent=name)
        refuse(bus, world, lambda n=name: bus.subscriptions(n), InvalidName, agent=name)
        refuse(bus, world, lambda n=name: bus.receive(n, timeout=0), InvalidName, agent=name)
        # As a message field, a bad name is an invalid message that names the field.
        err = refuse(
            bus, world, lambda n=name: bus.send(n, "hi", sender="bob"), InvalidMessage, agent=name
        )
        # (No recipient at all is a message with no destination.)
        assert failing_fields(err) == ({"(message)"} if name is None else {"recipient"})
        err = refuse(
            bus,
            world,
            lambda n=name: bus.publish("#ok", "hi", sender=n),
            InvalidMessage,
            channel="#ok",
        )
        assert failing_fields(err) == {"sender"}
        if name is not None:  # no reply_to is fine
            err = refuse(
                bus,
                world,
                lambda n=name: bus.publish("#ok", "hi", sender="bob", reply_to=n),
                InvalidMessage,
                channel="#ok",
            )
            assert failing_fields(err) == {"reply_to"}
    assert_untouched(bus, world)


def test_hostile_channel_names(bus: Bus, world: dict[str, Any]) -> None:
    for name in BAD_CHANNEL_NAMES:
        refuse(bus, world, lambda n=name: bus.create_channel(n), InvalidName, channel=name)
        refuse(
            bus, world, lambda n=name: bus.publish(n, "hi", sender="bob"), InvalidName, channel=name
        )
        refuse(bus, world, lambda n=name: bus.subscribe("alice", n), InvalidName, channel=name)
        refuse(bus, world, lambda n=name: bus.unsubscribe("alice", n), InvalidName, channel=name)
        refuse(bus, world, lambda n=name: bus.history(n), InvalidName, channel=name)
        refuse(bus, world, lambda n=name: bus.get_channel(n), InvalidName, channel=name)
        refuse(
            bus,
            world,
            lambda n=name: bus.receive("alice", channel=n, timeout=0),
            InvalidName,
            channel=name,
        )
        # Checked before anything changes: the agent is not registered half-way.
        refuse(
            bus,
            world,
            lambda n=name: bus.register_agent("dave", channels=["#ok", n]),
            InvalidName,
            channel=name,
        )
    assert_untouched(bus, world)


def test_unknown_channel(bus: Bus, world: dict[str, Any]) -> None:
    ghost = "#nope"
    refuse(
        bus, world, lambda: bus.publish(ghost, "hi", sender="bob"), UnknownChannel, channel=ghost
    )
    refuse(
        bus,
        world,
        lambda: bus.post(Message(channel=ghost, sender="bob", content="hi")),
        UnknownChannel,
        channel=ghost,
    )
    refuse(bus, world, lambda: bus.subscribe("alice", ghost), UnknownChannel, channel=ghost)
    refuse(bus, world, lambda: bus.unsubscribe("alice", ghost), UnknownChannel, channel=ghost)
    refuse(bus, world, lambda: bus.history(ghost), UnknownChannel, channel=ghost)
    refuse(bus, world, lambda: bus.get_channel(ghost), UnknownChannel, channel=ghost)
    refuse(
        bus,
        world,
        lambda: bus.receive("alice", channel=ghost, timeout=0),
        UnknownChannel,
        channel=ghost,
    )
    refuse(
        bus,
        world,
        lambda: bus.register_agent("dave", channels=["#ok", ghost]),
        UnknownChannel,
        channel=ghost,
    )
    # Differs from a real channel only by case: still unknown.
    refuse(
        bus, world, lambda: bus.publish("#OK", "hi", sender="bob"), UnknownChannel, channel="#OK"
    )
    assert_untouched(bus, world)


def test_unknown_agent(bus: Bus, world: dict[str, Any]) -> None:
    ghost = "ghost"
    refuse(bus, world, lambda: bus.send(ghost, "hi", sender="bob"), UnknownAgent, agent=ghost)
    refuse(
        bus,
        world,
        lambda: bus.post(Message(recipient=ghost, sender="bob", content="hi")),
        UnknownAgent,
        agent=ghost,
    )
    refuse(bus, world, lambda: bus.subscribe(ghost, "#ok"), UnknownAgent, agent=ghost)
    refuse(bus, world, lambda: bus.unsubscribe(ghost, "#ok"), UnknownAgent, agent=ghost)
    refuse(bus, world, lambda: bus.subscriptions(ghost), UnknownAgent, agent=ghost)
    refuse(bus, world, lambda: bus.receive(ghost, timeout=0), UnknownAgent, agent=ghost)
    refuse(
        bus, world, lambda: bus.receive(ghost, channel="#ok", timeout=0), UnknownAgent, agent=ghost
    )
    assert_untouched(bus, world)


def test_receive_from_a_channel_the_agent_is_not_in(bus: Bus, world: dict[str, Any]) -> None:
    refuse(
        bus,
        world,
        lambda: bus.receive("carol", channel="#ok", timeout=0),
        NotSubscribed,
        agent="carol",
        channel="#ok",
    )
    refuse(
        bus,
        world,
        lambda: bus.receive("alice", channel="#other", timeout=0),
        NotSubscribed,
        agent="alice",
        channel="#other",
    )
    # Having left a channel is the same as never having been in it.
    bus.unsubscribe("bob", "#ok")
    after = {"store": snapshot(bus, queues=False)}
    refuse(
        bus,
        after,
        lambda: bus.receive("bob", channel="#ok", timeout=0),
        NotSubscribed,
        agent="bob",
        channel="#ok",
    )
    assert receive_all(bus, "bob", wait=0.1) == []


def test_oversize_messages(bus: Bus, world: dict[str, Any]) -> None:
    big = "x" * LIMIT
    err = refuse(
        bus,
        world,
        lambda: bus.publish("#ok", big, sender="bob"),
        MessageTooLarge,
        channel="#ok",
        limit=LIMIT,
    )
    assert err.context["size"] > LIMIT
    refuse(
        bus,
        world,
        lambda: bus.send("alice", big, sender="bob"),
        MessageTooLarge,
        agent="alice",
        limit=LIMIT,
    )
    attachments = [{"name": "blob", "content": "y" * (LIMIT // 2)}] * 2
    refuse(
        bus,
        world,
        lambda: bus.publish("#ok", "small", sender="bob", attachments=attachments),
        MessageTooLarge,
        channel="#ok",
        limit=LIMIT,
    )
    refuse(
        bus,
        world,
        lambda: bus.post(Message(channel="#ok", sender="bob", content=big)),
        MessageTooLarge,
        channel="#ok",
        limit=LIMIT,
    )
    # Just under the limit goes through.
    fits = bus.publish("#ok", "z" * (LIMIT - 400), sender="bob")
    assert fits.seq == 4


MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"content": ""}, "content"),
    ({"content": "  \n\t "}, "content"),
    ({"content": 123}, "content"),
    ({"content": None}, "content"),
    ({"type": "gossip"}, "type"),
    ({"type": 7}, "type"),
    ({"priority": "meh"}, "priority"),
    ({"priority": 3}, "priority"),
    ({"attachments": [{"name": "a"}]}, "attachments.0"),
    ({"attachments": [{"name": "a", "content": "x", "url": "http://x"}]}, "attachments.0"),
    ({"attachments": [{"name": "a", "content": "x", "bogus": 1}]}, "attachments.0.bogus"),
    ({"attachments": [{"name": "", "content": "x"}]}, "attachments.0.name"),
    ({"metadata": {"bogus": 1}}, "metadata.bogus"),
    ({"metadata": {"tokens_used": -1}}, "metadata.tokens_used"),
    ({"metadata": {"cost": "cheap"}}, "metadata.cost"),
    ({"correlation_id": "not-a-uuid"}, "correlation_id"),
]


def test_malformed_messages(bus: Bus, world: dict[str, Any]) -> None:
    for fields, field in MALFORMED:
        values = {"content": "hi", **fields}
        content = values.pop("content")
        err = refuse(
            bus,
            world,
            lambda c=content, v=values: bus.publish("#ok", c, sender="bob", **v),
            InvalidMessage,
            channel="#ok",
        )
        assert failing_fields(err) == {field}, (fields, err.context)
        err = refuse(
            bus,
            world,
            lambda c=content, v=values: bus.send("alice", c, sender="bob", **v),
            InvalidMessage,
            agent="alice",
        )
        assert failing_fields(err) == {field}, (fields, err.context)
    assert_untouched(bus, world)


BAD_JSON: list[tuple[str | bytes, str | None]] = [
    ("not json", None),
    (b"\xff\xfe", None),
    ("[]", None),
    ('{"channel": "#ok", "sender": "bob", "content": "hi", "bogus": 1}', "bogus"),
    ('{"channel": "#ok", "recipient": "alice", "sender": "bob", "content": "hi"}', "(message)"),
    ('{"sender": "bob", "content": "hi"}', "(message)"),
    ('{"channel": "#ok", "sender": "bob"}', "content"),
    ('{"channel": "a b", "sender": "bob", "content": "hi"}', "channel"),
    ('{"channel": "#ok", "sender": "bob", "content": "hi", "seq": 0}', "seq"),
    (
        '{"channel": "#ok", "sender": "bob", "content": "hi", "timestamp": "2024-01-01T00:00:00"}',
        "timestamp",
    ),
    ('{"channel": "#ok", "sender": "bob", "content": "hi", "id": "nope"}', "id"),
]


def test_bad_json_is_refused_before_the_bus(bus: Bus, world: dict[str, Any]) -> None:
    """What comes from outside is decoded first; bad JSON never gets as far as a publish."""
    for data, field in BAD_JSON:
        err = refuse(bus, world, lambda d=data: bus.post(Message.from_json(d)), MessageDecodeError)
        if field is not None:
            assert field in failing_fields(err), (data, err.context)
    assert_untouched(bus, world)


def test_bad_arguments(bus: Bus, world: dict[str, Any]) -> None:
    for timeout in (-1, -0.001, float("nan"), "soon", True, [1]):
        refuse(
            bus,
            world,
            lambda t=timeout: bus.receive("alice", timeout=t),
            InvalidArgument,
            field="timeout",
        )
    for label, value in (
        ("limit", -1),
        ("after", -5),
        ("limit", "3"),
        ("after", 1.5),
        ("limit", True),
    ):
        refuse(
            bus,
            world,
            lambda k=label, v=value: bus.history("#ok", **{k: v}),
            InvalidArgument,
            field=label,
        )
    for since in (datetime.now(), "2024-01-01T00:00:00+00:00", 1700000000):
        refuse(
            bus, world, lambda s=since: bus.history("#ok", since=s), InvalidArgument, field="since"
        )
    refuse(
        bus,
        world,
        lambda: bus.create_channel("#new", kind="fanout"),
        InvalidArgument,
        channel="#new",
    )
    refuse(
        bus,
        world,
        lambda: bus.create_channel("#ok", retention=Retention(max_messages=5)),
        ChannelExists,
        channel="#ok",
    )
    refuse(
        bus,
        world,
        lambda: bus.create_channel("#ok", kind="broadcast"),
        ChannelExists,
        channel="#ok",
    )
    assert_untouched(bus, world)

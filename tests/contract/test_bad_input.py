"""Bad input changes nothing: each refused call raises its own error class from bus.errors,
names what was wrong in ``err.context``, and leaves channels, agents, heads, histories,
positions and broker queues exactly as they were. Each test runs on memory://, Redis and
RabbitMQ."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
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
from bus.settings import BusSettings
from tests.brokers import settings_for
from tests.helpers.cases import Cases
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


@pytest.fixture
def cases(bus: Bus, world: dict[str, Any]) -> Cases:
    """Every case of a table is tried; after a failed one the baseline is taken again, so a
    case that changed something is reported alone, not with every case after it."""
    return Cases(after_failure=lambda: world.update(store=snapshot(bus, queues=False)))


def assert_untouched(bus: Bus, world: dict[str, Any]) -> None:
    """Nothing was queued for anyone, and every agent still receives exactly what the world
    sent it, nothing else."""
    assert snapshot(bus) == world["all"]
    got = {agent: [m.content for m in receive_all(bus, agent, wait=0.1)] for agent in bus.agents()}
    assert sorted(got["alice"]) == ["hello", "ok 0", "ok 1", "ok 2"]
    assert got["bob"] == ["ok 0", "ok 1", "ok 2"]
    assert got["carol"] == ["other"]


#: Calls that take an agent name, each refusing a bad one with InvalidName naming the agent.
AGENT_CALLS: list[tuple[str, Callable[[Bus, Any], object]]] = [
    ("register_agent", lambda bus, name: bus.register_agent(name)),
    ("register_agent+channels", lambda bus, name: bus.register_agent(name, channels=["#ok"])),
    ("subscribe", lambda bus, name: bus.subscribe(name, "#ok")),
    ("unsubscribe", lambda bus, name: bus.unsubscribe(name, "#ok")),
    ("subscriptions", lambda bus, name: bus.subscriptions(name)),
    ("receive", lambda bus, name: bus.receive(name, timeout=0)),
]
#: Message fields that take an agent name: (case, call, error context, the field it fails).
AGENT_FIELDS: list[tuple[str, Callable[[Bus, Any], object], str]] = [
    ("send to", lambda bus, name: bus.send(name, "hi", sender="bob"), "recipient"),
    ("publish from", lambda bus, name: bus.publish("#ok", "hi", sender=name), "sender"),
    (
        "publish reply_to",
        lambda bus, name: bus.publish("#ok", "hi", sender="bob", reply_to=name),
        "reply_to",
    ),
]


def test_hostile_agent_names(bus: Bus, world: dict[str, Any], cases: Cases) -> None:
    for name in BAD_AGENT_NAMES:
        for label, call in AGENT_CALLS:
            with cases.case(f"{label}({name!r})"):
                refuse(bus, world, partial(call, bus, name), InvalidName, agent=name)
        # As a message field, a bad name is an invalid message that names the field.
        for label, call, field in AGENT_FIELDS:
            if field == "reply_to" and name is None:
                continue  # no reply_to is fine
            with cases.case(f"{label} {name!r}"):
                if field == "recipient":
                    err = refuse(bus, world, partial(call, bus, name), InvalidMessage, agent=name)
                else:
                    err = refuse(
                        bus, world, partial(call, bus, name), InvalidMessage, channel="#ok"
                    )
                # (No recipient at all is a message with no destination.)
                expected = {"(message)"} if name is None and field == "recipient" else {field}
                assert failing_fields(err) == expected, err.context
    cases.verify()
    assert_untouched(bus, world)


#: Calls that take a channel name, each refusing a bad one with InvalidName naming the channel.
CHANNEL_CALLS: list[tuple[str, Callable[[Bus, Any], object]]] = [
    ("create_channel", lambda bus, name: bus.create_channel(name)),
    ("publish", lambda bus, name: bus.publish(name, "hi", sender="bob")),
    ("subscribe", lambda bus, name: bus.subscribe("alice", name)),
    ("unsubscribe", lambda bus, name: bus.unsubscribe("alice", name)),
    ("history", lambda bus, name: bus.history(name)),
    ("get_channel", lambda bus, name: bus.get_channel(name)),
    ("receive", lambda bus, name: bus.receive("alice", channel=name, timeout=0)),
    # Checked before anything changes: the agent is not registered half-way.
    ("register_agent", lambda bus, name: bus.register_agent("dave", channels=["#ok", name])),
]


def test_hostile_channel_names(bus: Bus, world: dict[str, Any], cases: Cases) -> None:
    for name in BAD_CHANNEL_NAMES:
        for label, call in CHANNEL_CALLS:
            with cases.case(f"{label}({name!r})"):
                refuse(bus, world, partial(call, bus, name), InvalidName, channel=name)
    cases.verify()
    assert_untouched(bus, world)


GHOST_CHANNEL = "#nope"
#: Calls naming a channel that does not exist: (case, call, the channel the error names).
UNKNOWN_CHANNEL_CALLS: list[tuple[str, Callable[[Bus], object], str]] = [
    ("publish", lambda bus: bus.publish(GHOST_CHANNEL, "hi", sender="bob"), GHOST_CHANNEL),
    (
        "post",
        lambda bus: bus.post(Message(channel=GHOST_CHANNEL, sender="bob", content="hi")),
        GHOST_CHANNEL,
    ),
    ("subscribe", lambda bus: bus.subscribe("alice", GHOST_CHANNEL), GHOST_CHANNEL),
    ("unsubscribe", lambda bus: bus.unsubscribe("alice", GHOST_CHANNEL), GHOST_CHANNEL),
    ("history", lambda bus: bus.history(GHOST_CHANNEL), GHOST_CHANNEL),
    ("get_channel", lambda bus: bus.get_channel(GHOST_CHANNEL), GHOST_CHANNEL),
    (
        "receive",
        lambda bus: bus.receive("alice", channel=GHOST_CHANNEL, timeout=0),
        GHOST_CHANNEL,
    ),
    (
        "register_agent",
        lambda bus: bus.register_agent("dave", channels=["#ok", GHOST_CHANNEL]),
        GHOST_CHANNEL,
    ),
    # Differs from a real channel only by case: still unknown.
    ("publish to #OK", lambda bus: bus.publish("#OK", "hi", sender="bob"), "#OK"),
]


def test_unknown_channel(bus: Bus, world: dict[str, Any], cases: Cases) -> None:
    for label, call, channel in UNKNOWN_CHANNEL_CALLS:
        with cases.case(label):
            refuse(bus, world, partial(call, bus), UnknownChannel, channel=channel)
    cases.verify()
    assert_untouched(bus, world)


GHOST_AGENT = "ghost"
UNKNOWN_AGENT_CALLS: list[tuple[str, Callable[[Bus], object]]] = [
    ("send", lambda bus: bus.send(GHOST_AGENT, "hi", sender="bob")),
    ("post", lambda bus: bus.post(Message(recipient=GHOST_AGENT, sender="bob", content="hi"))),
    ("subscribe", lambda bus: bus.subscribe(GHOST_AGENT, "#ok")),
    ("unsubscribe", lambda bus: bus.unsubscribe(GHOST_AGENT, "#ok")),
    ("subscriptions", lambda bus: bus.subscriptions(GHOST_AGENT)),
    ("receive", lambda bus: bus.receive(GHOST_AGENT, timeout=0)),
    ("receive from #ok", lambda bus: bus.receive(GHOST_AGENT, channel="#ok", timeout=0)),
]


def test_unknown_agent(bus: Bus, world: dict[str, Any], cases: Cases) -> None:
    for label, call in UNKNOWN_AGENT_CALLS:
        with cases.case(label):
            refuse(bus, world, partial(call, bus), UnknownAgent, agent=GHOST_AGENT)
    cases.verify()
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
    ({"type": "Gossip!"}, "type"),
    ({"type": "a" * 65}, "type"),
    ({"type": 7}, "type"),
    ({"priority": "meh"}, "priority"),
    ({"priority": 3}, "priority"),
    ({"attachments": [{"name": "a"}]}, "attachments.0"),
    ({"attachments": [{"name": "a", "content": "x", "url": "http://x"}]}, "attachments.0"),
    ({"attachments": [{"name": "a", "content": "x", "bogus": 1}]}, "attachments.0.bogus"),
    ({"attachments": [{"name": "", "content": "x"}]}, "attachments.0.name"),
    ({"metadata": {"bogus": 1}}, "metadata"),  # the reason names 'bogus' and points at extra
    ({"metadata": {"extra": {"big": "x" * 17_000}}}, "metadata.extra"),
    ({"metadata": {"extra": {"": 1}}}, "metadata.extra"),
    ({"metadata": {"tokens_used": -1}}, "metadata.tokens_used"),
    ({"metadata": {"cost": "cheap"}}, "metadata.cost"),
    ({"correlation_id": "not-a-uuid"}, "correlation_id"),
]


def test_malformed_messages(bus: Bus, world: dict[str, Any], cases: Cases) -> None:
    for fields, field in MALFORMED:
        values = {"content": "hi", **fields}
        content = values.pop("content")
        with cases.case(f"publish {fields!r}"):
            err = refuse(
                bus,
                world,
                partial(bus.publish, "#ok", content, sender="bob", **values),
                InvalidMessage,
                channel="#ok",
            )
            assert failing_fields(err) == {field}, err.context
        with cases.case(f"send {fields!r}"):
            err = refuse(
                bus,
                world,
                partial(bus.send, "alice", content, sender="bob", **values),
                InvalidMessage,
                agent="alice",
            )
            assert failing_fields(err) == {field}, err.context
    cases.verify()
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


def post_json(bus: Bus, data: str | bytes) -> None:
    bus.post(Message.from_json(data))


def test_bad_json_is_refused_before_the_bus(bus: Bus, world: dict[str, Any], cases: Cases) -> None:
    """What comes from outside is decoded first; bad JSON never gets as far as a publish."""
    for data, field in BAD_JSON:
        with cases.case(repr(data)):
            err = refuse(bus, world, partial(post_json, bus, data), MessageDecodeError)
            if field is not None:
                assert field in failing_fields(err), err.context
    cases.verify()
    assert_untouched(bus, world)


#: Arguments of the wrong type or value: (case, call, error, error context).
BAD_ARGUMENTS: list[tuple[str, Callable[[Bus], object], type[BusError], dict[str, Any]]] = [
    *(
        (
            f"receive(timeout={timeout!r})",
            partial(lambda bus, t: bus.receive("alice", timeout=t), t=timeout),
            InvalidArgument,
            {"field": "timeout"},
        )
        for timeout in (-1, -0.001, float("nan"), "soon", True, [1])
    ),
    *(
        (
            f"history({label}={value!r})",
            partial(lambda bus, k, v: bus.history("#ok", **{k: v}), k=label, v=value),
            InvalidArgument,
            {"field": label},
        )
        for label, value in (
            ("limit", -1),
            ("after", -5),
            ("limit", "3"),
            ("after", 1.5),
            ("limit", True),
        )
    ),
    *(
        (
            f"history(since={since!r})",
            partial(lambda bus, s: bus.history("#ok", since=s), s=since),
            InvalidArgument,
            {"field": "since"},
        )
        for since in (datetime.now(), "2024-01-01T00:00:00+00:00", 1700000000)
    ),
    (
        "create_channel(kind='fanout')",
        lambda bus: bus.create_channel("#new", kind="fanout"),
        InvalidArgument,
        {"channel": "#new"},
    ),
    (
        "create_channel(existing, other retention)",
        lambda bus: bus.create_channel("#ok", retention=Retention(max_messages=5)),
        ChannelExists,
        {"channel": "#ok"},
    ),
    (
        "create_channel(existing, other kind)",
        lambda bus: bus.create_channel("#ok", kind="broadcast"),
        ChannelExists,
        {"channel": "#ok"},
    ),
]


def test_bad_arguments(bus: Bus, world: dict[str, Any], cases: Cases) -> None:
    for label, call, error, context in BAD_ARGUMENTS:
        with cases.case(label):
            refuse(bus, world, partial(call, bus), error, **context)
    cases.verify()
    assert_untouched(bus, world)

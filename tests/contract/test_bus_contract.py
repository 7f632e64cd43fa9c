"""The bus's promises beyond ordering (see also test_ordering, test_bad_input and
test_retention): durable delivery, channel names that look like wildcards, broadcast channels,
configuration errors, and how receive waits. Each test runs on memory://, Redis and RabbitMQ."""

from __future__ import annotations

import threading
import time

import pytest

from bus import (
    BrokerUnavailable,
    Bus,
    BusError,
    BusSettings,
    ChannelKind,
    ConfigurationError,
    InvalidArgument,
    Message,
    NotSubscribed,
    StoreUnavailable,
)
from tests.brokers import AMQP_URL, REDIS_URL, new_namespace, settings_for
from tests.helpers.cases import Cases
from tests.helpers.probe import queue_depth, receive_all

#: Seconds a receive waits for a message that must come (never reached when all is well).
ARRIVES = 15
#: A loopback port nothing listens on.
CLOSED = "127.0.0.1:1"


def contents(messages: list[Message]) -> list[str]:
    return [message.content for message in messages]


# -- durable delivery ---------------------------------------------------------------------------


def test_offline_agent_gets_what_was_published_meanwhile(bus: Bus, settings: BusSettings) -> None:
    """An agent whose bus is stopped, then started again (the same Bus object, or a new one),
    receives what was published while it was away, in order, and nothing twice.

    On memory:// "a new one" is a second Bus in this process: the in-process store and
    transport are shared by every Bus of the namespace, which is as far as memory:// goes.
    """
    bus.create_channel("#news")
    away = Bus(settings).start()
    try:
        away.register_agent("away", channels=["#news"])
        bus.publish("#news", "before", sender="lead")
        assert contents(receive_all(away, "away", wait=0.1)) == ["before"]
        away.stop()

        bus.publish("#news", "while stopped 1", sender="lead")
        bus.send("away", "dm while stopped", sender="lead")
        bus.publish("#news", "while stopped 2", sender="lead")
        away.start()
        got = receive_all(away, "away", wait=0.1)
        # Each stream in its order; no order between a channel and the inbox is promised.
        assert contents([m for m in got if m.channel]) == ["while stopped 1", "while stopped 2"]
        assert contents([m for m in got if not m.channel]) == ["dm while stopped"]
        away.stop()
    finally:
        away.stop()

    bus.publish("#news", "while gone 1", sender="lead")
    bus.publish("#news", "while gone 2", sender="lead")
    with Bus(settings) as other:
        got = receive_all(other, "away", wait=0.1)
        assert contents(got) == ["while gone 1", "while gone 2"]
        assert [m.seq for m in got] == [4, 5]
        assert queue_depth(other, "away") == 0


def test_new_subscriber_starts_from_now(bus: Bus) -> None:
    bus.create_channel("#news")
    bus.register_agent("old", channels=["#news"])
    past = [bus.publish("#news", f"past {index}", sender="lead") for index in range(3)]
    bus.register_agent("new", channels=["#news"])
    bus.register_agent("later")
    bus.subscribe("later", "#news")
    future = [bus.publish("#news", f"future {index}", sender="lead") for index in range(2)]
    assert contents(receive_all(bus, "new", wait=0.1)) == ["future 0", "future 1"]
    assert contents(receive_all(bus, "later", wait=0.1)) == ["future 0", "future 1"]
    assert contents(receive_all(bus, "old", wait=0.1)) == contents(past + future)
    assert [m.id for m in bus.history("#news")] == [m.id for m in past + future]


def test_unsubscribe_stops_delivery_even_of_what_is_queued(bus: Bus) -> None:
    bus.create_channel("#news")
    bus.register_agent("leaver", channels=["#news"])
    bus.register_agent("stayer", channels=["#news"])
    for index in range(4):
        bus.publish("#news", f"before {index}", sender="lead")
    assert bus.receive("leaver", timeout=ARRIVES).content == "before 0"  # type: ignore[union-attr]
    # Three deliveries are still queued (or prefetched) for it.
    assert bus.unsubscribe("leaver", "#news") is True
    assert bus.unsubscribe("leaver", "#news") is False
    bus.publish("#news", "after", sender="lead")
    assert "leaver" not in bus.get_channel("#news").members
    assert "#news" not in bus.subscriptions("leaver")
    with pytest.raises(NotSubscribed):
        bus.receive("leaver", channel="#news", timeout=0)
    assert receive_all(bus, "leaver", wait=0.1) == []
    assert queue_depth(bus, "leaver") == 0
    assert len(bus.history("#news")) == 5
    assert len(receive_all(bus, "stayer", wait=0.1)) == 5
    # Coming back is a new subscription: from now on, nothing of the past.
    assert bus.subscribe("leaver", "#news") is True
    bus.publish("#news", "back", sender="lead")
    assert contents(receive_all(bus, "leaver", wait=0.1)) == ["back"]


# -- names that look like wildcards -------------------------------------------------------------

WILDCARDS = ["#", "*", "a.#", "*.x", "#engineering", "a.b", "a.*", "#.#", "a#", "a_23", "_23", ">"]


def test_channel_names_that_look_like_wildcards_reach_only_their_own(bus: Bus) -> None:
    agents = {}
    for index, channel in enumerate(WILDCARDS):
        bus.create_channel(channel)
        agents[channel] = f"agent-{index}"
        bus.register_agent(agents[channel], channels=[channel])
    for channel in WILDCARDS:
        bus.publish(channel, f"to {channel}", sender="lead")
    # The broker routed each delivery to its own agent's queue only (the store alone would
    # hide a misrouted delivery: it hands over by membership).
    depths: dict[str, int] = {}
    deadline = time.monotonic() + ARRIVES
    while sum(depths.values()) < len(WILDCARDS) and time.monotonic() < deadline:
        depths = {agent: queue_depth(bus, agent) for agent in agents.values()}
    assert depths == dict.fromkeys(agents.values(), 1)
    for channel, agent in agents.items():
        got = receive_all(bus, agent, wait=0)
        assert [(m.channel, m.content) for m in got] == [(channel, f"to {channel}")], channel
        assert bus.get_channel(channel).members == {agent}
        assert contents(bus.history(channel)) == [f"to {channel}"]


# -- broadcast ----------------------------------------------------------------------------------


def test_broadcast_reaches_every_agent_even_later_ones(bus: Bus) -> None:
    bus.register_agent("early")
    bus.create_channel("#news", kind=ChannelKind.BROADCAST)
    bus.register_agent("late")
    assert bus.get_channel("#news").members == {"early", "late"}
    assert "#news" in bus.subscriptions("early")
    assert "#news" in bus.subscriptions("late")
    bus.publish("#news", "one", sender="lead")
    bus.publish("#all-hands", "hands", sender="lead")  # a default broadcast channel
    bus.register_agent("latest")  # from now on, like any new member
    bus.publish("#news", "two", sender="lead")
    for agent in ("early", "late"):
        got = receive_all(bus, agent, wait=0.1)
        assert sorted(contents(got)) == ["hands", "one", "two"]
        assert contents([m for m in got if m.channel == "#news"]) == ["one", "two"]
    assert contents(receive_all(bus, "latest", wait=0.1)) == ["two"]


def test_unsubscribing_from_a_broadcast_channel_is_refused(bus: Bus) -> None:
    bus.create_channel("#news", kind="broadcast")
    bus.register_agent("ann")
    with pytest.raises(InvalidArgument) as info:
        bus.unsubscribe("ann", "#news")
    assert info.value.context["channel"] == "#news"
    assert info.value.context["agent"] == "ann"
    assert "ann" in bus.get_channel("#news").members
    bus.publish("#news", "still here", sender="lead")
    assert contents(receive_all(bus, "ann", wait=0.1)) == ["still here"]


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["kafka://127.0.0.1:9092", "localhost:6379", "sqs://", ""])
def test_unsupported_broker_scheme_names_the_supported_ones(url: str) -> None:
    """Transport-independent: the URL is refused before anything connects."""
    with pytest.raises(ConfigurationError) as info:
        Bus(BusSettings(broker_url=url, namespace=new_namespace()))
    message = str(info.value)
    assert [
        scheme for scheme in ("memory://", "redis://", "amqp://") if scheme not in message
    ] == []
    assert info.value.context["setting"] == "BUS_BROKER_URL"


def test_store_url_rules(transport: str) -> None:
    """Which store each transport gets without BUS_STORE_URL, and memory:// refused as the store
    of a broker other processes share."""
    broker = settings_for(transport).broker_url
    namespace = new_namespace()
    if transport == "amqp":
        with pytest.raises(ConfigurationError) as info:
            Bus(BusSettings(broker_url=broker, store_url=None, namespace=namespace))
        assert "BUS_STORE_URL must be set" in str(info.value)
        assert info.value.context["setting"] == "BUS_STORE_URL"
    else:
        expected = {"memory": "memory://", "redis": broker}[transport]
        assert Bus(BusSettings(broker_url=broker, namespace=namespace)).store_url == expected
    if transport == "memory":
        assert Bus(BusSettings(broker_url=broker, store_url="memory://")).store_url == "memory://"
    else:
        with pytest.raises(ConfigurationError) as info:
            Bus(BusSettings(broker_url=broker, store_url="memory://", namespace=namespace))
        assert info.value.context["setting"] == "BUS_STORE_URL"
    with pytest.raises(ConfigurationError) as info:
        Bus(BusSettings(broker_url=broker, store_url="mongodb://x", namespace=namespace))
    assert "redis://" in str(info.value)


def test_celery_broker_url_is_honoured(transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = settings_for(transport)
    for key in ("BUS_BROKER_URL", "BUS_STORE_URL", "BUS_NAMESPACE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CELERY_BROKER_URL", wanted.broker_url)
    monkeypatch.setenv("BUS_NAMESPACE", wanted.namespace)
    if wanted.store_url:
        monkeypatch.setenv("BUS_STORE_URL", wanted.store_url)
    settings = BusSettings()
    assert settings.broker_url == wanted.broker_url
    bus = Bus(settings).start()
    try:
        assert bus.app.conf.broker_url == wanted.broker_url
        bus.create_channel("#env")
        bus.register_agent("ann", channels=["#env"])
        bus.publish("#env", "via CELERY_BROKER_URL", sender="lead")
        assert contents(receive_all(bus, "ann", wait=0.1)) == ["via CELERY_BROKER_URL"]
    finally:
        bus.destroy()
    # BUS_BROKER_URL wins when both are set.
    monkeypatch.setenv("BUS_BROKER_URL", "memory://")
    assert BusSettings().broker_url == "memory://"


@pytest.mark.slow
def test_unreachable_broker_or_store_at_start(transport: str) -> None:
    """A closed loopback port: start() says which URL does not answer. memory:// has no broker
    that can be unreachable; its bus is tested with an unreachable Redis store instead."""
    table: list[tuple[str, str | None, type[BusError]]] = [
        (settings_for(transport).broker_url, f"redis://{CLOSED}/0", StoreUnavailable),
    ]
    if transport == "redis":
        table += [
            (f"redis://{CLOSED}/0", None, StoreUnavailable),  # the broker's Redis is the store
            (f"redis://{CLOSED}/0", REDIS_URL, BrokerUnavailable),
        ]
    elif transport == "amqp":
        table.append((AMQP_URL.replace("127.0.0.1:5672", CLOSED), REDIS_URL, BrokerUnavailable))
    cases = Cases()
    for broker, store, error in table:
        with cases.case(f"broker {broker}, store {store}"):
            bus = Bus(BusSettings(broker_url=broker, store_url=store, namespace=new_namespace()))
            with pytest.raises(error) as info:
                bus.start()
            assert CLOSED in info.value.context["url"]
            assert CLOSED in str(info.value)
            assert not bus.started
    cases.verify()


# -- receive ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_receive_timeout(bus: Bus) -> None:
    bus.create_channel("#quiet")
    bus.register_agent("ann", channels=["#quiet"])
    assert bus.receive("ann", timeout=0.3) is None
    assert bus.receive("ann", timeout=0) is None
    assert bus.receive("ann", channel="#quiet", timeout=0.2) is None
    # Something already published is returned at once even with timeout=0.
    bus.publish("#quiet", "ready", sender="lead")
    assert bus.receive("ann", timeout=0).content == "ready"  # type: ignore[union-attr]

    def publish_later() -> None:
        time.sleep(0.3)
        bus.publish("#quiet", "while you waited", sender="lead")

    thread = threading.Thread(target=publish_later)
    thread.start()
    try:
        message = bus.receive("ann", timeout=ARRIVES)
    finally:
        thread.join()
    assert message is not None
    assert message.content == "while you waited"
    assert bus.receive("ann", timeout=0) is None


def test_receive_from_one_channel_leaves_the_others_for_later(bus: Bus) -> None:
    bus.create_channel("#x")
    bus.create_channel("#y")
    bus.register_agent("ann", channels=["#x", "#y"])
    bus.publish("#y", "y1", sender="lead")
    bus.publish("#x", "x1", sender="lead")
    bus.send("ann", "dm1", sender="lead")
    bus.publish("#y", "y2", sender="lead")
    bus.publish("#x", "x2", sender="lead")
    assert contents(receive_all(bus, "ann", channel="#x", wait=0.1)) == ["x1", "x2"]
    assert bus.receive("ann", channel="#x", timeout=0) is None
    rest = receive_all(bus, "ann", wait=0.1)
    assert sorted(contents(rest)) == ["dm1", "y1", "y2"]
    assert contents([m for m in rest if m.channel == "#y"]) == ["y1", "y2"]
    bus.publish("#x", "x3", sender="lead")
    assert contents(receive_all(bus, "ann", wait=0.1)) == ["x3"]

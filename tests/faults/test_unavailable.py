"""Every connection failure that reaches a caller is a BusError naming the server.

The servers are stopped for real (a private ``redis-server`` killed, a private RabbitMQ node's
application stopped), never mocked. Each public call that talks to the server is tried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bus import Bus
from bus.errors import BrokerUnavailable, StoreUnavailable
from tests.brokers import REDIS_URL
from tests.faults.workers import fast_settings
from tests.support.servers import RabbitNode, RedisServer

pytestmark = [pytest.mark.fault]

Call = Callable[[Bus], Any]

#: Every call of the public API that reads or writes the store (or the broker).
CALLS: dict[str, Call] = {
    "publish": lambda bus: bus.publish("#engineering", "hi", sender="alice"),
    "send": lambda bus: bus.send("bob", "hi", sender="alice"),
    "receive": lambda bus: bus.receive("bob", timeout=0.2),
    "receive from a channel": lambda bus: bus.receive("bob", channel="#engineering", timeout=0.2),
    "history": lambda bus: bus.history("#engineering"),
    "direct history": lambda bus: bus.direct_history("bob"),
    "create_channel": lambda bus: bus.create_channel("#new"),
    "get_channel": lambda bus: bus.get_channel("#engineering"),
    "list_channels": lambda bus: bus.list_channels(),
    "register_agent": lambda bus: bus.register_agent("carol"),
    "agents": lambda bus: bus.agents(),
    "subscribe": lambda bus: bus.subscribe("bob", "#product"),
    "subscriptions": lambda bus: bus.subscriptions("bob"),
}


@pytest.fixture
def redis_bus(redis_server: RedisServer) -> Iterator[Bus]:
    """A bus on a private Redis (broker and store) with bob on #engineering, Redis then killed."""
    bus = Bus(fast_settings(redis_server.url)).start()
    bus.register_agent("bob", channels=["#engineering"])
    bus.publish("#engineering", "before", sender="alice")
    assert bus.receive("bob", timeout=5) is not None  # the inbox is open and consuming
    redis_server.kill()
    try:
        yield bus
    finally:
        bus.stop()


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_call_on_a_stopped_redis_raises_a_bus_error_naming_it(
    redis_bus: Bus, redis_server: RedisServer, name: str
) -> None:
    with pytest.raises((StoreUnavailable, BrokerUnavailable)) as caught:
        CALLS[name](redis_bus)
    assert caught.value.url == f"redis://127.0.0.1:{redis_server.port}/0"
    assert str(redis_server.port) in str(caught.value)


@pytest.mark.redis
def test_starting_a_bus_on_a_stopped_redis_raises_store_unavailable_with_the_password_masked(
    redis_server: RedisServer,
) -> None:
    redis_server.kill()
    url = f"redis://user:s3cret@127.0.0.1:{redis_server.port}/0"
    with pytest.raises(StoreUnavailable) as caught:
        Bus(fast_settings(url)).start()
    assert "s3cret" not in str(caught.value)
    assert caught.value.url == f"redis://user:**@127.0.0.1:{redis_server.port}/0"


@pytest.fixture
def rabbit_bus(rabbit_node: RabbitNode, shared_redis: None) -> Iterator[Bus]:
    """A bus on a private RabbitMQ node (store: the shared Redis), its application stopped."""
    bus = Bus(fast_settings(rabbit_node.url, store_url=REDIS_URL)).start()
    bus.register_agent("bob", channels=["#engineering"])
    bus.publish("#engineering", "before", sender="alice")
    assert bus.receive("bob", timeout=5) is not None
    rabbit_node.stop_app()
    try:
        yield bus
    finally:
        rabbit_node.start_app()
        bus.destroy()


#: Calls that need the broker (the rest only read the store, which still answers).
BROKER_CALLS = (
    "receive",
    "receive from a channel",
    "create_channel",
    "register_agent",
    "subscribe",
)


@pytest.mark.amqp
def test_calls_that_need_a_stopped_rabbitmq_raise_broker_unavailable_naming_it(
    rabbit_bus: Bus, rabbit_node: RabbitNode
) -> None:
    for name in BROKER_CALLS:
        with pytest.raises(BrokerUnavailable) as caught:
            CALLS[name](rabbit_bus)
        assert f":{rabbit_node.port}" in caught.value.url, name
        assert "guest@" not in caught.value.url or "**@" in caught.value.url, name

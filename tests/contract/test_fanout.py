"""A message's deliveries to many members are built once (:mod:`bus.broker.fanout`): on Redis
they go out in one script call, on memory:// as copies of one message; each queue entry is what
kombu's own ``Producer.publish`` writes, but for the task id and delivery tag, and bus's consumers
take them as usual (on RabbitMQ, one publish the broker routes: see
``tests/worker/test_shared_deliveries.py``)."""

from __future__ import annotations

import json
from base64 import b64decode
from typing import Any

import pytest
import redis

from bus import Bus
from bus.broker.deliveries import Broker
from bus.broker.memory_transport import WokenChannel
from bus.broker.wire import Delivery, MemberDeliveries
from tests.brokers import REDIS_URL, require, settings_for
from tests.helpers.probe import receive_all


def _entry(client: redis.Redis, queue: str) -> dict[str, Any]:
    raw = client.rpop(queue)
    assert isinstance(raw, bytes | str)
    entry: dict[str, Any] = json.loads(raw)
    # kombu's own publish base64-encodes the body; the fan-out script stores it as text
    encoding = entry["properties"].pop("body_encoding")
    assert encoding in ("base64", None)
    entry["body"] = json.loads(b64decode(entry["body"]) if encoding else entry["body"])
    return entry


def _without_ids(entry: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in entry["headers"].items() if k not in ("id", "root_id")}
    properties = {
        k: v for k, v in entry["properties"].items() if k not in ("correlation_id", "delivery_tag")
    }
    return {**entry, "headers": headers, "properties": properties}


@pytest.mark.redis
def test_each_fanned_out_entry_is_kombus_own_but_for_its_ids() -> None:
    require("redis")
    settings = settings_for("redis")
    broker = Broker(settings)
    client = redis.Redis.from_url(REDIS_URL)
    agents = ["amy", "bob", "cy"]
    queues = [broker.topology.agent_queue(agent).name for agent in agents]
    try:
        message = Delivery("", "#news", 7, "m-1", sender='ann "é"', type="request")
        deliveries = MemberDeliveries(message, agents)
        broker.publish(deliveries)  # several members: the script
        fanned = [_entry(client, queue) for queue in queues]
        for delivery in list(deliveries):
            broker.publish([delivery])  # one member: kombu's Producer.publish
        own = [_entry(client, queue) for queue in queues]
        assert [_without_ids(e) for e in fanned] == [_without_ids(e) for e in own]
        for entry, agent in zip(fanned, agents, strict=True):
            assert entry["body"][0] == [agent, "#news", 7]
            assert entry["headers"]["argsrepr"] == repr((agent, "#news", 7))
            shown = {"message_id": "m-1", "sender": 'ann "é"', "type": "request"}
            assert entry["body"][1] == {**shown, "channel": "#news"}
            assert entry["headers"]["kwargsrepr"] == repr({**shown, "channel": "#news"})
            assert entry["headers"]["id"] == entry["headers"]["root_id"]
            assert entry["headers"]["id"] == entry["properties"]["correlation_id"]
        ids = {entry["headers"]["id"] for entry in fanned}
        tags = {entry["properties"]["delivery_tag"] for entry in fanned}
        assert len(ids) == len(tags) == len(agents)
        assert len({task_id.rsplit("-", 1)[0] for task_id in ids}) == 1  # built once: one prefix
    finally:
        client.delete(*queues)
        client.close()


@pytest.mark.memory
def test_each_fanned_out_memory_entry_is_kombus_own_but_for_its_ids() -> None:
    broker = Broker(settings_for("memory"))
    agents = ["amy", "bob", "cy"]
    queues = [broker.topology.agent_queue(agent).name for agent in agents]

    def take(queue: str) -> dict[str, Any]:
        entry: dict[str, Any] = WokenChannel.queues[queue].get_nowait()
        return {**entry, "body": json.loads(entry["body"])}

    deliveries = MemberDeliveries(
        Delivery("", "#news", 7, "m-1", sender="ann", type="request"), agents
    )
    broker.publish(deliveries)  # several members: copies of one message
    fanned = [take(queue) for queue in queues]
    for delivery in list(deliveries):
        broker.publish([delivery])  # one member: kombu's Producer.publish
    own = [take(queue) for queue in queues]
    assert [_without_ids(e) for e in fanned] == [_without_ids(e) for e in own]
    for entry, agent, queue in zip(fanned, agents, queues, strict=True):
        assert entry["body"][0] == [agent, "#news", 7]
        assert entry["headers"]["argsrepr"] == repr((agent, "#news", 7))
        assert entry["headers"]["id"] == entry["properties"]["correlation_id"]
        assert entry["properties"]["delivery_info"]["routing_key"] == queue
    ids = {entry["headers"]["id"] for entry in fanned}
    tags = {entry["properties"]["delivery_tag"] for entry in fanned}
    assert len(ids) == len(tags) == len(agents)
    assert len({task_id.rsplit("-", 1)[0] for task_id in ids}) == 1  # built once: one prefix
    assert fanned[0]["headers"] is not fanned[1]["headers"]  # each member's own copy


@pytest.mark.parametrize(
    "transport",
    [
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("amqp", marks=pytest.mark.amqp),
    ],
)
def test_members_receive_fanned_out_deliveries_in_channel_order(transport: str) -> None:
    require(transport)
    with Bus(settings_for(transport)) as bus:
        try:
            bus.create_channel("#news")
            agents = {f"m{index}": ["#news"] for index in range(30)}
            bus.register_agents(agents)
            for content in ("one", "two", "three"):
                bus.publish("#news", content, sender="ci")
            for agent in ("m0", "m17", "m29"):
                got = receive_all(bus, agent, channel="#news")
                assert [m.content for m in got] == ["one", "two", "three"]
        finally:
            bus.destroy()

"""One publish per channel message on RabbitMQ (issue 22, item 4): the message's delivery is
published once to the channel's exchange and the broker routes it to every member through the
member's own binding (``BCC``, :class:`bus.broker.fanout.AmqpFanout`). Each member still gets a
delivery of its own: a real ``celery -A bus worker`` hosting two members addresses each copy to
its queue's owner (:mod:`bus.worker.shared_deliveries`): both handle the messages, in order
(a failed attempt retried), and Celery sees a task id per member; pull members read theirs
with ``receive``."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu import Producer
from kombu.message import Message as KombuMessage

from bus import Bus
from bus.broker.wire import QUEUE_OWNER, SHARED_HEADER, address_shared
from bus.errors import MessageDecodeError
from bus.settings import BusSettings
from bus.testing import join
from tests.brokers import require, settings_for
from tests.worker.harness import FAST, WorkerProcess, runs, wait_for

AGENTS = ("rec-a", "rec-b")


@pytest.fixture
def amqp_settings() -> Iterator[BusSettings]:
    require("amqp")
    settings = settings_for("amqp", **FAST)
    yield settings
    Bus(settings).start().destroy()


@pytest.fixture
def publishes(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every broker publish this process makes."""
    made: list[dict[str, Any]] = []
    publish = Producer.publish

    def counted(self: Producer, body: Any, **kwargs: Any) -> Any:
        made.append(kwargs)
        return publish(self, body, **kwargs)

    monkeypatch.setattr(Producer, "publish", counted)
    return made


@pytest.mark.amqp
def test_a_hosted_channel_message_is_one_publish_and_each_member_gets_its_own_task(
    amqp_settings: BusSettings, tmp_path: Path, publishes: list[dict[str, Any]]
) -> None:
    log = tmp_path / "worker.log"
    worker = WorkerProcess(amqp_settings, pool="threads", concurrency=4, log=log)
    try:
        worker.wait_ready()
        with Bus(amqp_settings) as bus:
            wait_for(
                lambda: all("#engineering" in bus.subscriptions(a) for a in AGENTS),
                30,
                "the worker to register its agents",
            )
            publishes.clear()
            bus.publish("#engineering", "hello", sender="tester")
            shared = [kw for kw in publishes if (kw.get("headers") or {}).get(SHARED_HEADER)]
            assert len(publishes) == 1, publishes  # one publish for both members
            assert shared[0]["routing_key"] in AGENTS
            assert shared[0]["headers"]["BCC"] == [
                a for a in AGENTS if a != shared[0]["routing_key"]
            ]
            bus.publish("#engineering", "flaky", sender="tester")  # fails once: retried
            for agent in AGENTS:
                join(bus, agent, 60)
    finally:
        worker.stop()
    done = sorted((r[1], int(r[3]), int(r[4])) for r in runs(amqp_settings) if r[0] == "done")
    assert done == [("rec-a", 1, 1), ("rec-a", 2, 2), ("rec-b", 1, 1), ("rec-b", 2, 2)]
    # Celery saw a task of each member's own: distinct ids, argsrepr naming the member.
    received = re.findall(
        r"Task bus\.deliver\[([0-9a-f-]+)\] received", log.read_text(errors="replace")
    )
    # (Coalesced deliveries: the first wakes each member's run, which also reads the second.)
    assert len(received) == len(set(received)) == 2, received
    assert {uuid.UUID(task_id).version for task_id in received} == {5}  # named per member


@pytest.mark.amqp
def test_pull_members_each_receive_a_shared_delivery(
    amqp_settings: BusSettings, publishes: list[dict[str, Any]]
) -> None:
    members = [f"pull-{n}" for n in range(5)]
    with Bus(amqp_settings) as bus:
        bus.create_channel("#fan")
        for member in members:
            bus.register_agent(member, channels=["#fan"])
        publishes.clear()
        posted = [bus.publish("#fan", f"m{n}", sender="tester") for n in range(3)]
        # One publish wakes the five (coalesced: the next two find each woken already).
        [shared] = publishes
        assert sorted([shared["routing_key"], *shared["headers"]["BCC"]]) == members
        for member in members:
            got = [bus.receive(member, timeout=10) for _ in posted]
            assert [message.id for message in got if message] == [m.id for m in posted]
            assert bus.receive(member, timeout=0.2) is None


def _shared_message(args: Any, task_id: str) -> KombuMessage:
    body = json.dumps([args, {"message_id": "m"}, {}])
    return KombuMessage(
        body=body.encode(),
        headers={"id": task_id, "root_id": task_id, "task": "bus.deliver", SHARED_HEADER: 1},
        properties={"correlation_id": task_id},
        delivery_info={"exchange": "x", "routing_key": "rec-a", "consumer_tag": "t1"},
        content_type="application/json",
        content_encoding="utf-8",
    )


def test_a_shared_delivery_is_addressed_to_the_queue_owner() -> None:
    shared_id = str(uuid.uuid4())
    for agent in ("rec-a", "rec-b"):
        shared = _shared_message([QUEUE_OWNER, "#engineering", 7], shared_id)
        message = address_shared(shared, agent)
        args, kwargs, _ = message.decode()
        assert args == [agent, "#engineering", 7]
        assert kwargs == {"message_id": "m"}
        own = str(uuid.uuid5(uuid.UUID(shared_id), agent))
        assert (message.headers["id"], message.headers["root_id"]) == (own, own)
        assert message.headers["argsrepr"] == repr((agent, "#engineering", 7))
        assert SHARED_HEADER not in message.headers
        assert message.properties["correlation_id"] == own
        assert message.delivery_info["routing_key"] == agent  # where a retry is published
        assert message.delivery_info["consumer_tag"] == "t1"
        assert (message.channel, message.delivery_tag) == (shared.channel, shared.delivery_tag)
        assert shared.headers["id"] == shared_id  # the shared message itself is left as it was


@pytest.mark.parametrize(
    "args", [["rec-a", "#engineering", 7], [QUEUE_OWNER, "#engineering"], "nonsense"]
)
def test_a_shared_delivery_that_is_not_one_is_refused_clearly(args: Any) -> None:
    message = _shared_message(args, str(uuid.uuid4()))
    with pytest.raises(MessageDecodeError, match="shared bus delivery"):
        address_shared(message, "rec-b")

"""Publishing a message's deliveries to many members of a Redis channel in one round trip.

kombu's Redis transport puts a message in a queue with one LPUSH of the message's JSON (body
base64-encoded, in the ``body_encoding`` kombu's virtual channels use) into the queue's key;
priority 0, what every delivery has, is the queue's own key. :class:`Producer.publish
<kombu.Producer>` builds that JSON anew for each member (a Celery task message, two UUIDs, a JSON
encoding of ~1 KB): ~100 us a member, 90-140 ms for a channel of 1,000, even with kombu's
``Producer.batch`` pipelining the pushes.

The deliveries of one message differ only in the member (task arguments, ``argsrepr``, the
queue; the keyword arguments shown in Flower, sender, type and channel, are the message's), the
task id and kombu's delivery tag. A :class:`Fanout` builds the message once, through Celery's
``as_task_v2`` and kombu's own ``prepare_message``, with marker strings where those differ, and
fills the markers in per member. :class:`RedisFanout` sends the JSON kombu's Redis transport
stores, with the markers in it, once per 1,000 members to a script (``lua/push_each.lua``) that
fills each member's values in and pushes its message: one request of ~1 KB and the members'
names, where building each member's JSON here and sending ~1.2 MB cost 15-20 ms for 1,000
members, and a pipeline of 1,000 LPUSHes spent ~80 ms in redis-py packing and parsing. The
body is stored as text (``body_encoding`` none, as kombu's virtual channels read it), since the
script cannot base64-encode it. :class:`MemoryFanout` copies the message dict kombu's memory
transport queues (``memory://``: the same ~100 us a member went to building each message anew).
Task ids and delivery tags are a random UUID per message with the member's index in the last
group, unique as Celery and kombu's acknowledgement emulation need.

On RabbitMQ the broker routes: :class:`AmqpFanout` publishes the message's delivery once (per
:data:`BATCH` members) to the channel's exchange, with the first member's name as routing key
and the others in the ``BCC`` header (RabbitMQ's sender-selected distribution, which routes the
message as if published with each of those keys too, through each member's own binding, and
strips the header before delivering it). Every member's queue gets the same task message, whose
``agent`` argument is :data:`~bus.broker.wire.QUEUE_OWNER`: a consumer fills in its queue's
owner (:func:`~bus.broker.wire.address_shared`; a worker's Celery strategy,
:mod:`bus.worker.shared_deliveries`, or a pull inbox). Publishing to 1,000 members was 1,000
publishes, ~200 ms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib.resources import files
from typing import Any
from uuid import uuid4

from celery import Celery
from kombu.serialization import dumps as serialize
from kombu.utils.json import dumps
from redis.exceptions import NoScriptError

from bus.broker.topology import Topology
from bus.broker.wire import (
    DELIVER_TASK,
    QUEUE_OWNER,
    SHARED_HEADER,
    Delivery,
    MemberDeliveries,
)

#: ``@@bus-<field>@@``: where a member's own values go in the message template.
_MARKER = re.compile(r"@@bus-(\w+)@@")
#: Where the member's name goes in the message template.
_AGENT = "@@bus-agent@@"
#: The script building and pushing a batch of members' messages, one per queue.
_PUSH_EACH = (files("bus.broker") / "lua" / "push_each.lua").read_text(encoding="utf-8")
#: Members per script call (Redis) or per publish (RabbitMQ: the ``BCC`` header of 1,000
#: names fits a frame): a bounded request, and the server free for others between batches.
BATCH = 1000
#: How hard a publish retries a lost broker connection before it gives up.
PUBLISH_RETRY_POLICY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.2}


class Fanout:
    """Publishes the deliveries of one message to many members' queues, building the task
    message once (see the module doc); one subclass per kombu transport it writes to.

    Args:
        app: The bus's Celery app (its producer pool gives the transport's channel).
        topology: Names the members' queues.
        origin: The ``origin`` header of every task message.
    """

    def __init__(self, app: Celery, topology: Topology, origin: str) -> None:
        self._app = app
        self._topology = topology
        self._origin = origin

    @staticmethod
    def applies(deliveries: Sequence[Delivery], task: str) -> bool:
        """Whether ``deliveries`` are one message's plain deliveries to several members
        (:class:`~bus.broker.wire.MemberDeliveries`, as the publisher builds them)."""
        return (
            isinstance(deliveries, MemberDeliveries)
            and task == DELIVER_TASK
            and len(deliveries) > 1
            and deliveries.template.message is None
        )

    def publish(self, deliveries: MemberDeliveries) -> None:
        """Put every delivery into its member's queue.

        Raises:
            Whatever the transport raises (the broker turns it into ``BrokerUnavailable``).
        """
        with self._app.producer_or_acquire() as producer:
            self._put_all(producer.channel, deliveries.template, deliveries.agents)

    def _put_all(self, channel: Any, first: Delivery, agents: Sequence[str]) -> None:
        raise NotImplementedError

    def _marked(self, channel: Any, first: Delivery) -> tuple[dict[str, Any], list[str]]:
        """The message kombu would queue for ``first`` with markers for each member's values,
        and its serialized task body split at the agent's marker."""
        marker = Delivery(
            _AGENT,
            first.channel,
            first.seq,
            first.message_id,
            sender=first.sender,
            type=first.type,
        )
        headers, properties, body = marker.task_message(self._app, self._origin, DELIVER_TASK)
        headers.update(id="@@bus-id@@", root_id="@@bus-id@@", argsrepr="@@bus-argsrepr@@")
        properties["correlation_id"] = "@@bus-id@@"
        properties["delivery_mode"] = 2
        content_type, encoding, raw = _serialize(body)
        message = channel.prepare_message(
            "@@bus-body@@", 0, content_type, encoding, headers, properties
        )
        message["properties"].update(
            body_encoding=channel.body_encoding, delivery_tag="@@bus-tag@@"
        )
        message["properties"]["delivery_info"].update(exchange="", routing_key="@@bus-queue@@")
        return message, raw.split(_AGENT)


class MemoryFanout(Fanout):
    """On kombu's memory transport: a copy of the message dict per member, put in its queue
    through the channel (:class:`~bus.broker.memory_transport.WokenChannel`, which wakes the
    queue's consumers)."""

    def _put_all(self, channel: Any, first: Delivery, agents: Sequence[str]) -> None:
        message, body_parts = self._marked(channel, first)
        headers, properties = message["headers"], message["properties"]
        id_prefix, tag_prefix = _uuid_prefix(), _uuid_prefix()
        rest = f", {first.channel!r}, {first.seq!r})"
        agent_queue, put = self._topology.agent_queue, channel.put_prepared
        for index, agent in enumerate(agents):
            suffix = f"{index:012x}"
            task_id, queue = id_prefix + suffix, agent_queue(agent).name
            put(
                queue,
                {
                    **message,
                    "body": agent.join(body_parts),
                    "headers": {
                        **headers,
                        "id": task_id,
                        "root_id": task_id,
                        "argsrepr": f"({agent!r}{rest}",
                    },
                    "properties": {
                        **properties,
                        "correlation_id": task_id,
                        "delivery_tag": tag_prefix + suffix,
                        "delivery_info": {"exchange": "", "routing_key": queue},
                    },
                },
            )


class RedisFanout(Fanout):
    """On kombu's Redis transport: one script call per :data:`BATCH` members, which builds each
    member's message from the template the client sends once (``lua/push_each.lua``)."""

    def __init__(self, app: Celery, topology: Topology, origin: str) -> None:
        super().__init__(app, topology, origin)
        self._loaded: dict[int, str] = {}

    def _put_all(self, channel: Any, first: Delivery, agents: Sequence[str]) -> None:
        message, body_parts = self._marked(channel, first)
        # The body as text in the JSON (no base64: the script cannot encode it), as kombu's
        # virtual channels store a message whose ``body_encoding`` is none, and the agent's
        # repr built around its marker: agent names need no escaping (bus.names.AGENT_NAME).
        message["body"] = _AGENT.join(body_parts)
        message["properties"]["body_encoding"] = None
        message["headers"]["argsrepr"] = f"({_AGENT!r}, {first.channel!r}, {first.seq!r})"
        template = _MARKER.split(dumps(message))
        client = channel.client
        agent_queue = self._topology.agent_queue
        # Each queue is the prefix and the member's name: the script takes the name from it.
        named_from = len(self._topology.agent_queue_prefix)
        for start in range(0, len(agents), BATCH):
            queues = [agent_queue(agent).name for agent in agents[start : start + BATCH]]
            args = (len(template), *template, _uuid_prefix(), _uuid_prefix(), named_from)
            self._push(client, queues, args)

    def _push(self, client: Any, queues: list[str], args: tuple[Any, ...]) -> None:
        try:
            client.evalsha(self._sha(client), len(queues), *queues, *args)
        except NoScriptError:  # the server restarted, or its script cache was flushed
            self._loaded.pop(id(client), None)
            client.evalsha(self._sha(client), len(queues), *queues, *args)

    def _sha(self, client: Any) -> str:
        """The push script's SHA, loaded into the broker's Redis once per client."""
        sha = self._loaded.get(id(client))
        if sha is None:
            sha = self._loaded[id(client)] = str(client.script_load(_PUSH_EACH))
        return sha


def _uuid_prefix() -> str:
    """A random UUID's first four groups and the dash after them: each member's id ends it
    with the member's index (12 hex digits)."""
    hexed = uuid4().hex[:20]
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-"


def _serialize(body: Any) -> tuple[str, str, str]:
    """The task body as kombu's JSON serializer writes it."""
    content_type, encoding, raw = serialize(body, serializer="json")
    return content_type, encoding, raw if isinstance(raw, str) else raw.decode(encoding)


class AmqpFanout(Fanout):
    """On RabbitMQ: one publish per :data:`BATCH` members, routed by the broker (see the
    module doc)."""

    @staticmethod
    def applies(deliveries: Sequence[Delivery], task: str) -> bool:
        """Whether ``deliveries`` are one channel message's plain deliveries to several
        members (routed through the channel's exchange)."""
        return Fanout.applies(deliveries, task) and deliveries[0].channel is not None

    def publish(self, deliveries: MemberDeliveries) -> None:
        first = deliveries.template
        assert first.channel is not None  # see applies()
        exchange = self._topology.channel_exchange(first.channel)
        shared = Delivery(
            QUEUE_OWNER,
            first.channel,
            first.seq,
            first.message_id,
            sender=first.sender,
            type=first.type,
        )
        with self._app.producer_or_acquire() as producer:
            for start in range(0, len(deliveries), BATCH):
                agents = list(deliveries.agents[start : start + BATCH])
                headers, properties, body = shared.task_message(
                    self._app, self._origin, DELIVER_TASK
                )
                headers[SHARED_HEADER] = 1
                headers["BCC"] = agents[1:]
                producer.publish(
                    body,
                    exchange=exchange,
                    routing_key=agents[0],
                    headers=headers,
                    serializer="json",
                    delivery_mode=2,
                    declare=[exchange],
                    retry=True,
                    retry_policy=PUBLISH_RETRY_POLICY,
                    **properties,
                )

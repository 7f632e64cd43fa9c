"""Deliveries on the wire: each one is a Celery task message (protocol 2) of its own.

A message published to a channel with five members becomes five deliveries (on RabbitMQ one
publish the broker copies into each member's queue, addressed to the queue's owner by its
consumer: :data:`SHARED_HEADER`), each with its own task id, named ``bus.deliver`` with
arguments ``(agent, channel, seq)`` (``channel`` is ``None`` for a direct message) and the
message's id as keyword argument ``message_id``; keyword arguments ``sender``, ``type`` and
``channel`` (or ``recipient``, for a direct message) say what it is in Flower's task list. They
are for display only: a consumer reads the message, and who sent it, from the log, never from a
delivery. A delivery is an address, not a copy: the message itself is stored once, in its
stream's log, however many members it has, and consumers read it from there (which is also what
keeps their order). A Celery worker runs deliveries as tasks (Flower lists who handled what);
:meth:`bus.Bus.receive` reads them directly. Only a replayed dead letter (``bus.replay``)
carries its message, as keyword argument ``message``. Bodies are JSON, never pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, overload
from uuid import UUID, uuid4, uuid5

from celery import Celery
from kombu.message import Message as KombuMessage
from kombu.utils.json import dumps, loads

from bus.channels import Stream
from bus.errors import MessageDecodeError

#: The Celery task name of a delivery.
DELIVER_TASK = "bus.deliver"
#: The header of a delivery shared by many members' queues (RabbitMQ: one publish routed to
#: each member through its binding, :class:`~bus.broker.fanout.AmqpFanout`): its ``agent``
#: argument is :data:`QUEUE_OWNER`, the owner of the queue it arrived in, which the consumer
#: fills in (:func:`address_shared`).
SHARED_HEADER = "x-bus-shared"
#: The ``agent`` argument of a shared delivery: whoever owns the queue it is read from.
QUEUE_OWNER = ""
#: The Celery task name of a dead letter handed to its agent again (out of order, once).
REPLAY_TASK = "bus.replay"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message on its way to one agent."""

    agent: str
    channel: str | None
    seq: int
    message_id: str | None = None
    #: The message itself: only on a replay, which is outside the log's order.
    message: dict[str, Any] | None = None
    #: The message's sender and type, shown in Flower (display only: never trusted).
    sender: str | None = None
    type: str | None = None

    @property
    def stream(self) -> str:
        """The stream whose order this delivery is part of."""
        return Stream.of(self.agent, self.channel).id

    def task_message(
        self, app: Celery, origin: str, task: str = DELIVER_TASK
    ) -> tuple[dict[str, Any], dict[str, Any], Any]:
        """Headers, properties and body of the Celery task message for this delivery."""
        shown = self.shown()
        kwargs: dict[str, Any] = dict(shown)
        if self.message is not None:
            kwargs["message"] = self.message
        headers, properties, body, _ = app.amqp.as_task_v2(
            str(uuid4()),
            task,
            args=(self.agent, self.channel, self.seq),
            kwargs=kwargs,
            argsrepr=repr((self.agent, self.channel, self.seq)),
            kwargsrepr=repr(shown),
            origin=origin,
            ignore_result=True,
        )
        return headers, properties, body

    def shown(self) -> dict[str, Any]:
        """The keyword arguments that say what this delivery is: its message's id, sender and
        type, and its channel (or, for a direct message, its recipient)."""
        shown: dict[str, Any] = {"message_id": self.message_id}
        if self.sender is not None:
            shown["sender"] = self.sender
        if self.type is not None:
            shown["type"] = self.type
        if self.channel is not None:
            shown["channel"] = self.channel
        else:
            shown["recipient"] = self.agent
        return shown


class MemberDeliveries(Sequence[Delivery]):
    """One message's deliveries to each of ``agents``: ``template`` (its agent unused) addressed
    to each, built only when read one by one. A fanout (:mod:`bus.broker.fanout`) reads the
    agents and the template instead: no object per member."""

    def __init__(self, template: Delivery, agents: Sequence[str]) -> None:
        self.template = template
        self.agents = agents

    def __len__(self) -> int:
        return len(self.agents)

    @overload
    def __getitem__(self, index: int) -> Delivery: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Delivery]: ...

    def __getitem__(self, index: int | slice) -> Delivery | Sequence[Delivery]:
        if isinstance(index, slice):
            return MemberDeliveries(self.template, self.agents[index])
        return replace(self.template, agent=self.agents[index])


#: The largest seq a delivery may name: the store counts in Lua numbers, exact up to 2**53.
MAX_SEQ = 2**53


def parse_delivery(headers: dict[str, Any] | None, body: Any) -> Delivery:
    """Read a delivery back from a task message's headers and decoded body.

    Raises:
        MessageDecodeError: the message is not a ``bus.deliver`` task of the expected shape.
    """
    task = (headers or {}).get("task")
    if task != DELIVER_TASK:
        raise MessageDecodeError(
            f"not a bus delivery: task is {task!r}, expected {DELIVER_TASK!r}", task=task
        )
    try:
        args, kwargs, _embed = body
    except (TypeError, ValueError) as exc:
        raise MessageDecodeError(f"malformed bus delivery body: {exc}", task=task) from None
    return delivery_of(args, kwargs)


def delivery_of(args: Any, kwargs: Any) -> Delivery:
    """The delivery a ``bus.deliver`` task's arguments name, checked: ``(agent, channel, seq)``
    and the keyword ``message_id`` (and ``message``, on a replay). The display keywords
    (``sender``, ``type``, ``channel``, ``recipient``) are accepted and never trusted: a sender or
    type that is not a string is dropped, not refused (the log says what the message is).

    Raises:
        MessageDecodeError: they are not; the message says which one and why.
    """
    if not isinstance(args, list | tuple) or len(args) != 3 or not isinstance(kwargs, dict):
        raise MessageDecodeError(
            f"a bus delivery takes (agent, channel, seq), got {_shown(args)}", task=DELIVER_TASK
        )
    agent, channel, seq = args
    message_id, message = kwargs.get("message_id"), kwargs.get("message")
    wrong = (
        "agent is not a string"
        if not isinstance(agent, str)
        else "channel is neither a string nor null"
        if not (channel is None or isinstance(channel, str))
        else f"seq is not an integer from 1 to 2**53: {_shown(seq)}"
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq <= MAX_SEQ
        else "message_id is not a string"
        if not (message_id is None or isinstance(message_id, str))
        else "message is not an object"
        if not (message is None or isinstance(message, dict))
        else None
    )
    if wrong is not None:
        raise MessageDecodeError(f"malformed bus delivery: {wrong}", task=DELIVER_TASK)
    sender, kind = kwargs.get("sender"), kwargs.get("type")
    return Delivery(
        agent,
        channel,
        seq,
        message_id,
        message,
        sender if isinstance(sender, str) else None,
        kind if isinstance(kind, str) else None,
    )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def address_shared(message: KombuMessage, agent: str) -> KombuMessage:
    """``message``, a delivery shared by many members' queues (:data:`SHARED_HEADER`), as the
    delivery of ``agent``, who owns the queue it arrived in: a message for Celery to read in its
    place (acknowledging it acknowledges ``message``: same channel and delivery tag), with the
    ``agent`` argument, a task id of its own (the same for every copy of that member's, so a
    redelivery keeps it: a name-based UUID under the shared id), ``argsrepr``, and the routing
    key a retry is published with (the member's, as for a delivery of its own).

    Raises:
        MessageDecodeError: the body is not a delivery's.
    """
    headers = dict(message.headers)
    headers.pop(SHARED_HEADER, None)
    try:
        args, kwargs, embed = loads(message.body)
        shared_id = UUID(str(headers["id"]))
    except (ValueError, TypeError, KeyError) as exc:
        raise MessageDecodeError(
            f"malformed shared bus delivery: {exc}", task=DELIVER_TASK
        ) from None
    if not isinstance(args, list) or len(args) != 3 or args[0] != QUEUE_OWNER:
        raise MessageDecodeError(
            f"a shared bus delivery takes ('', channel, seq), got {_shown(args)}",
            task=DELIVER_TASK,
        )
    args[0] = agent
    own_id = str(uuid5(shared_id, agent))
    headers.update(id=own_id, root_id=own_id, argsrepr=repr(tuple(args)))
    encoding = message.content_encoding or "utf-8"
    return KombuMessage(
        body=dumps([args, kwargs, embed]).encode(encoding),
        channel=message.channel,
        delivery_tag=message.delivery_tag,
        content_type=message.content_type,
        content_encoding=encoding,
        delivery_info={**message.delivery_info, "routing_key": agent},
        properties={**message.properties, "correlation_id": own_id},
        headers=headers,
        accept=message.accept,
    )

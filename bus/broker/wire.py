"""Deliveries on the wire: each one is a Celery task message (protocol 2) of its own.

A message published to a channel with five members becomes five deliveries, each with its own
task id, named ``bus.deliver`` with arguments ``(agent, channel, seq)`` (``channel`` is ``None``
for a direct message) and the message's id as keyword argument ``message_id``. A delivery is an
address, not a copy: the message itself is stored once, in its stream's log, however many
members it has, and consumers read it from there (which is also what keeps their order). A
Celery worker runs deliveries as tasks (Flower lists who handled what); :meth:`bus.Bus.receive`
reads them directly. Only a replayed dead letter (``bus.replay``) carries its message, as
keyword argument ``message``. Bodies are JSON, never pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from celery import Celery

from bus.channels import Stream
from bus.errors import MessageDecodeError

#: The Celery task name of a delivery.
DELIVER_TASK = "bus.deliver"
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

    @property
    def stream(self) -> str:
        """The stream whose order this delivery is part of."""
        return Stream.of(self.agent, self.channel).id

    def task_message(
        self, app: Celery, origin: str, task: str = DELIVER_TASK
    ) -> tuple[dict[str, Any], dict[str, Any], Any]:
        """Headers, properties and body of the Celery task message for this delivery."""
        kwargs: dict[str, Any] = {"message_id": self.message_id}
        if self.message is not None:
            kwargs["message"] = self.message
        headers, properties, body, _ = app.amqp.as_task_v2(
            str(uuid4()),
            task,
            args=(self.agent, self.channel, self.seq),
            kwargs=kwargs,
            argsrepr=repr((self.agent, self.channel, self.seq)),
            kwargsrepr=repr({"message_id": self.message_id}),
            origin=origin,
            ignore_result=True,
        )
        return headers, properties, body


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
        agent, channel, seq = args
        message_id = kwargs.get("message_id")
        message = kwargs.get("message")
    except (TypeError, ValueError, AttributeError) as exc:
        raise MessageDecodeError(f"malformed bus delivery body: {exc}", task=task) from None
    if (
        not isinstance(agent, str)
        or not isinstance(seq, int)
        or isinstance(seq, bool)
        or not (channel is None or isinstance(channel, str))
        or not (message_id is None or isinstance(message_id, str))
        or not (message is None or isinstance(message, dict))
    ):
        raise MessageDecodeError("malformed bus delivery arguments", task=task)
    return Delivery(agent, channel, seq, message_id, message)

"""Deliveries on the wire: each one is a Celery task message (protocol 2) of its own.

A message published to a channel with five members becomes five deliveries, each with its own
task id, named ``bus.deliver`` with arguments ``(agent, channel, seq)`` (``channel`` is ``None``
for a direct message) and the message itself as keyword argument ``message``. A Celery worker
runs them as tasks (Flower lists who handled what); :meth:`bus.Bus.receive` reads them directly.
Bodies are JSON, never pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from celery import Celery

from bus.errors import MessageDecodeError
from bus.store.base import channel_stream, direct_stream

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
    message: dict[str, Any]

    @property
    def stream(self) -> str:
        """The stream whose order this delivery is part of."""
        if self.channel is None:
            return direct_stream(self.agent)
        return channel_stream(self.channel)

    def task_message(
        self, app: Celery, origin: str, task: str = DELIVER_TASK
    ) -> tuple[dict[str, Any], dict[str, Any], Any]:
        """Headers, properties and body of the Celery task message for this delivery."""
        where = "DM" if self.channel is None else self.channel
        headers, properties, body, _ = app.amqp.as_task_v2(
            str(uuid4()),
            task,
            args=(self.agent, self.channel, self.seq),
            kwargs={"message": self.message},
            argsrepr=repr((self.agent, self.channel, self.seq)),
            kwargsrepr=f"{{'message': {self.message.get('id')!r} from "
            f"{self.message.get('sender')!r} in {where}}}",
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
        message = kwargs["message"]
    except (TypeError, ValueError, KeyError) as exc:
        raise MessageDecodeError(f"malformed bus delivery body: {exc}", task=task) from None
    if (
        not isinstance(agent, str)
        or not isinstance(seq, int)
        or not isinstance(message, dict)
        or not (channel is None or isinstance(channel, str))
    ):
        raise MessageDecodeError("malformed bus delivery arguments", task=task)
    return Delivery(agent=agent, channel=channel, seq=seq, message=message)

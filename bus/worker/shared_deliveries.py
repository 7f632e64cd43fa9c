"""The Celery strategy of ``bus.deliver``: a delivery shared by many members' queues (RabbitMQ:
one publish the broker routes to each member, :class:`~bus.broker.fanout.AmqpFanout`) becomes
the delivery of the queue's owner before Celery reads it.

A worker consumes the queues of every agent it hosts on one channel, so the queue a message came
from is known only by its consumer tag (AMQP's ``basic.deliver`` names the tag, not the queue).
The worker's task consumer (:class:`TaskConsumer`, kombu's, which assigns the tags) answers
which queue a tag reads; each of the worker's queues is an agent's queue, bound with the agent's
name as routing key (:mod:`bus.broker.topology`). The strategy fills that agent into the message
(:func:`~bus.broker.wire.address_shared`: argument, task id, ``argsrepr``, the routing key a
retry goes to), then hands it to Celery's default strategy, so Flower, events, retries and
acknowledgements see a delivery of the member's own. A shared delivery that arrives on a queue
the worker no longer consumes, or that cannot be read, is acknowledged and logged: a delivery is
a signal, and the member's next run or sweep finds the message in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Celery, Task
from celery.worker.strategy import default
from kombu import Consumer
from kombu.message import Message as KombuMessage

from bus.broker.wire import SHARED_HEADER, address_shared
from bus.errors import MessageDecodeError

logger = logging.getLogger("bus.worker.hosting")

#: Where :func:`register_tasks <bus.worker.tasks.register_tasks>` points ``Task.Strategy``.
STRATEGY = f"{__name__}:strategy"


class TaskConsumer(Consumer):  # type: ignore[misc]
    """kombu's consumer, which also says whose queue each of its consumer tags reads (a worker
    app's ``app.amqp.Consumer``: Celery builds its task consumer from it)."""

    #: consumer tag -> the agent (the routing key of the queue it consumes), learnt on demand.
    _owners: dict[str, str] | None = None

    def owner_of(self, tag: object) -> str | None:
        """The agent whose queue consumer ``tag`` reads; ``None`` if no queue is read with it."""
        if not isinstance(tag, str):
            return None
        owners = self._owners
        if owners is None or tag not in owners:  # a queue added since, or consumed anew
            queues = {queue.name: queue.routing_key for queue in self.queues}
            owners = self._owners = {
                active: queues[name]
                for name, active in self._active_tags.items()
                if queues.get(name)
            }
        return owners.get(tag)


def strategy(task: Task, app: Celery, consumer: Any, **options: Any) -> Callable[..., Any]:
    """Celery's default strategy for ``task``, with shared deliveries addressed first."""
    handle = default(task, app, consumer, **options)

    def handler(
        message: KombuMessage, body: Any, ack: Any, reject: Any, callbacks: Any, **more: Any
    ) -> Any:
        if message.headers.get(SHARED_HEADER):
            tag = message.delivery_info.get("consumer_tag")
            task_consumer = consumer.task_consumer
            agent = task_consumer.owner_of(tag) if isinstance(task_consumer, TaskConsumer) else None
            try:
                if agent is None:
                    raise MessageDecodeError(f"no agent's queue is consumed with tag {tag!r}")
                message = address_shared(message, agent)
            except MessageDecodeError as exc:
                logger.warning("dropping a shared delivery: %s", exc)
                ack()
                return None
        return handle(message, body, ack, reject, callbacks, **more)

    return handler

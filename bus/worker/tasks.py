"""The worker's Celery tasks, ``bus.deliver`` and ``bus.replay``: module-level functions that
:func:`register_tasks` registers on a worker app (``app.task(...)(deliver)``).

A task finds what its app hosts through :func:`~bus.worker.hosting.hosting_of` and hands the
delivery to the process's :class:`~bus.worker.runtime.Runtime`. Its result is what Flower shows:
the delivery, its status and the seqs handled while it waited (``docs/decisions/0002``).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from celery.exceptions import Reject

from bus.broker.wire import DELIVER_TASK, REPLAY_TASK, delivery_of
from bus.channels import Stream
from bus.deadletters.operations import DeadLetter, dead_letter, refuse
from bus.errors import (
    AuthenticationFailed,
    ConfigurationError,
    HandlerFailed,
    MessageDecodeError,
    UnknownAgent,
)
from bus.message import Message
from bus.settings import BusSettings
from bus.worker.hosting import hosting_of
from bus.worker.outcomes import HandlerError, Status
from bus.worker.runtime import Runtime
from bus.worker.shared_deliveries import STRATEGY

logger = logging.getLogger("bus.worker.hosting")

#: Seconds before a delivery whose run the store failed under is tried again; doubled at each
#: further try, up to :data:`STORE_RETRY_MAX`. It is tried until the store answers (the task's
#: ``max_retries`` is ``None``: Celery's ``retry(max_retries=None)`` alone means its default of 3).
STORE_RETRY = 1.0
#: The longest wait between two tries of a delivery the store failed under.
STORE_RETRY_MAX = 10.0


def register_tasks(app: Celery, settings: BusSettings) -> None:
    """Register :func:`deliver` and :func:`replay` on ``app`` (a worker app)."""
    options: dict[str, Any] = {
        # shared=False: Celery would otherwise add them to every app made later in the
        # process, bound to the first app's hosting.
        "shared": False,
        "bind": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "ignore_result": True,
        "time_limit": settings.handler_time_limit,
        # A delivery waits for the store as long as it is down (see STORE_RETRY).
        "max_retries": None,
        # Refusals of what is not a delivery, or not for this worker: logged in one line, and
        # acknowledged (acks_late acknowledges a failed task), never retried.
        "throws": (HandlerFailed, MessageDecodeError, UnknownAgent),
    }
    # A delivery shared by many members' queues is addressed to the queue's owner first.
    app.task(name=DELIVER_TASK, Strategy=STRATEGY, **options)(deliver)
    app.task(name=REPLAY_TASK, **options)(replay)


def _runtime(task: Task) -> Runtime:
    hosting = hosting_of(task.app)
    if hosting is None:
        raise ConfigurationError(f"{task.name} runs on an app that hosts no agents (install())")
    return hosting.runtime


def deliver(task: Task, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Task ``bus.deliver(agent, channel, seq, message_id=..., sender=..., type=...,
    channel=... | recipient=...)``: message ``seq`` of ``agent``'s stream on ``channel``
    (``None``: its direct messages) is there; run the agent's handlers in order, report what was
    handled. The keywords but ``message_id`` are for Flower only: the message is read from the log.

    Raises:
        MessageDecodeError: the task's arguments are not a delivery (logged, acknowledged).
        UnknownAgent: this worker does not host the agent.
        HandlerFailed: the message became a dead letter (the task shows FAILURE).
        Reject: the worker is stopping; the delivery goes back to the broker.
    """
    try:
        delivery = delivery_of(args, kwargs)
    except MessageDecodeError as exc:
        logger.warning("refused task %s %s: %s", DELIVER_TASK, task.request.id, exc)
        raise
    agent, channel, seq = delivery.agent, delivery.channel, delivery.seq
    runtime = _runtime(task)
    outcome = runtime.deliver(agent, channel, seq, task.request.id)
    if outcome.status is Status.FAILED:
        # From the handler's exception (when this process ran it): Celery records, and Flower
        # shows, the handler's own traceback with its cause, then this line.
        failed = HandlerFailed(outcome.error or "the handlers failed", agent=agent, seq=seq)
        raise failed from outcome.cause
    if outcome.status is Status.INTERRUPTED:
        if runtime.stopping:  # back to the broker: the next worker delivers it again
            raise Reject(outcome.error or "interrupted", requeue=True)
        # The store failed under the run: try again in a while, not in a tight loop.
        wait = min(STORE_RETRY_MAX, STORE_RETRY * 2 ** min(task.request.retries, 10))
        raise task.retry(countdown=wait, max_retries=None)
    return {
        "agent": agent,
        "channel": channel,
        "seq": seq,
        "status": outcome.status.value,
        "handled": outcome.handled,
    }


def replay(task: Task, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Task ``bus.replay(agent, channel, seq, message_id=..., message=...)``: run ``agent``'s
    handlers once on a dead letter handed back (it carries its ``message``; no order, no lease).
    A failure is a dead letter again. The display keywords are as :func:`deliver`'s.

    Raises:
        MessageDecodeError: the task's arguments are not a replay.
        HandlerFailed: the handlers failed again.
    """
    delivery = delivery_of(args, kwargs)
    agent, channel, seq, message = delivery.agent, delivery.channel, delivery.seq, delivery.message
    if message is None:
        raise ValueError(f"a replay of {agent} {channel} #{seq} carries no message")
    runtime, task_id = _runtime(task), task.request.id
    decoded = Message.from_dict(message)
    stream = Stream.of(agent, decoded.channel)
    try:  # a replay carries its message: anyone who can write the queue could have made it
        runtime.bus.guard.admit(decoded, stream, agent=agent)
    except AuthenticationFailed as exc:
        if decoded.seq is not None:
            refuse(runtime.bus, agent, decoded, stream, exc)
        logger.warning("refused a replay to %s: %s", agent, exc)
        return {"agent": agent, "refused": exc.context.get("reason"), "seq": decoded.seq}
    error = runtime.replay(agent, message, task_id)
    if error is not None:
        letter = DeadLetter(
            agent=agent,
            channel=decoded.channel,
            seq=decoded.seq or 0,
            message=decoded,
            error=f"replay failed: {error}",
            attempts=1,
            task_id=task_id,
        )
        dead_letter(runtime.bus, letter)
        cause = error.exception if isinstance(error, HandlerError) else None
        raise HandlerFailed(f"replay failed: {error}", agent=agent) from cause
    return {"agent": agent, "replayed": str(decoded.id), "seq": decoded.seq}

"""What a stream run is given, and what it does between attempts.

:class:`RunCalls` is what a worker process's runtime hands every run (:mod:`bus.worker.runs`)
as plain callables; :func:`backoff` is the wait before a retry; :func:`log_handled` the log line
of a handled message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from bus.broker.wire import DELIVER_TASK
from bus.core import Bus
from bus.message import Message
from bus.settings import BusSettings
from bus.worker.agent import Agent
from bus.worker.lease_keeper import LeaseKeeper
from bus.worker.pushed_receipts import ReceiptPusher

logger = logging.getLogger("bus.delivery")

T = TypeVar("T")


class IO(Protocol):
    """``await io(function, *args)``: run a blocking call (the store) on an I/O thread."""

    def __call__(self, function: Callable[..., T], /, *args: Any) -> Awaitable[T]: ...


#: ``await handle(agent, message, attempt, task_id, skipped)``: run the agent's handlers that
#: take the message (its dispatcher); ``None`` if they all succeeded, else what failed.
Handle = Callable[[Agent, Message, int, str | None, int], Awaitable[str | None]]


@dataclass(frozen=True)
class RunCalls:
    """What every run of a worker process is given: the bus, and the runtime's parts as plain
    callables (:class:`bus.worker.runtime.Runtime` builds it, naming the method behind each)."""

    #: The process's bus: its store (leases, positions), its guard, its settings.
    bus: Bus
    io: IO
    handle: Handle
    #: ``await pause(seconds)``: sleep before a retry, less if the worker starts stopping.
    pause: Callable[[float], Awaitable[None]]
    #: ``stopping()``: whether the worker is stopping (a run ends after the message in hand).
    stopping: Callable[[], bool]
    #: Renews the leases of this process's active runs.
    keeper: LeaseKeeper
    #: ``host/pid/nonce``: the worker id every lease token of this process names (its liveness
    #: record says whether it is alive).
    identity: str
    #: Drafts the receipt each commit may push to the message's sender (issue 17).
    receipts: ReceiptPusher


def now_ms() -> int:
    """Wall-clock milliseconds, as the store's records are stamped."""
    return int(time.time() * 1000)


def backoff(settings: BusSettings, attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...)."""
    return float(min(settings.retry_backoff_max, settings.retry_backoff * 2 ** (attempt - 1)))


def log_handled(agent: str, message: Message, task_id: str | None = None) -> None:
    """The structured log line of a handled message (with the delivery task that started
    its run: handlers run on the event loop, outside the task's thread)."""
    logger.info(
        "%s handled %s #%s",
        agent,
        message.channel or "DM",
        message.seq,
        extra={
            "agent": agent,
            "channel": message.channel,
            "seq": message.seq,
            "message_id": str(message.id),
            "task_id": task_id,
            "task_name": DELIVER_TASK,
        },
    )

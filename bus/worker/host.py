"""What a stream run needs from its process's runtime: the seam between :mod:`bus.worker.runs`
and :mod:`bus.worker.runtime` (which implements it), so neither imports the other."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from bus.core import Bus
from bus.message import Message
from bus.settings import BusSettings
from bus.worker.agent import Agent
from bus.worker.leases import LeaseKeeper

T = TypeVar("T")


class Host(Protocol):
    """What a run needs from its process's runtime (:class:`bus.worker.runtime.Runtime`)."""

    bus: Bus
    settings: BusSettings
    #: ``host/pid`` of the process, the head of every lease token it takes.
    identity: str
    lease_ms: int
    keeper: LeaseKeeper
    #: True once the worker is stopping: runs end after the message in hand.
    stopping: bool

    async def io(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking call on an I/O thread."""

    async def pause(self, seconds: float) -> None:
        """Sleep, or less if the worker starts stopping."""

    async def handle(
        self,
        agent: Agent,
        message: Message,
        attempt: int,
        task_id: str | None,
        *,
        skipped: int = 0,
    ) -> str | None:
        """Run the agent's handlers; ``None`` or what failed (``skipped``: messages trimmed
        before this one that the agent never got)."""

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number ``attempt``."""

    def log_handled(self, agent: str, message: Message, task_id: str | None = None) -> None:
        """Log a handled message."""

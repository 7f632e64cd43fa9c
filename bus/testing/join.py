"""Wait until an agent has caught up with everything sent to it (dramatiq's ``broker.join``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bus.errors import BusTimeout, InvalidArgument, UnknownAgent

if TYPE_CHECKING:
    from bus.core import Bus


def lag_of(bus: Bus, agent: str) -> dict[str, int]:
    """How many messages ``agent`` has yet to handle, per stream it is behind on.

    Raises:
        BusNotStarted: ``bus`` is not started.
    """
    return {stream: head - position for stream, position, head in bus.store.leases.backlog(agent)}


def join(bus: Bus, agent: str, timeout: float = 10.0, *, interval: float = 0.02) -> None:
    """Wait until ``agent``'s position is at the head of every stream it reads: each message
    published to its channels, or sent to it, was handled (or received) and acknowledged.

    Messages published after :func:`join` returns are not waited for. An agent that a worker
    has not registered yet has no backlog at all, so joining it is refused rather than answered
    at once: wait for the registration first (e.g. until ``agent in bus.agents()``).

    Args:
        bus: a started bus on the store the agent's worker (or receiver) uses.
        agent: the agent's name.
        timeout: seconds to wait at most.
        interval: seconds between two looks at the store.

    Raises:
        BusTimeout: the agent is still behind after ``timeout``; ``context`` has ``agent``,
            ``timeout`` and ``lag`` (``{stream: messages behind}``).
        InvalidArgument: ``timeout`` is negative or ``interval`` not positive.
        UnknownAgent: no agent of that name is registered.
        BusNotStarted: ``bus`` is not started.
    """
    if not bus.store.registry.is_agent(agent):
        raise UnknownAgent(
            f"cannot join {agent!r}: no agent of that name is registered", agent=agent
        )
    if timeout < 0 or interval <= 0:
        raise InvalidArgument(
            f"join needs timeout >= 0 and interval > 0, got {timeout} and {interval}",
            timeout=timeout,
            interval=interval,
        )
    deadline = time.monotonic() + timeout
    while lag := lag_of(bus, agent):
        if time.monotonic() >= deadline:
            behind = ", ".join(f"{stream} by {count}" for stream, count in sorted(lag.items()))
            raise BusTimeout(
                f"{agent} is still behind after {timeout} s: {behind}",
                agent=agent,
                timeout=timeout,
                lag=lag,
            )
        time.sleep(interval)

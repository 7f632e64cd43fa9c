"""What no handler of a run may see: a message the consumer's guard refuses (forged, or not
permitted), a replayed copy of a stored message, or a dead letter that is not for the agent.

A refused message or copy is set aside as a dead letter (``refuse``), loudly, and the run moves
past it; a dead letter for another agent is passed over in silence.
"""

from __future__ import annotations

from typing import NamedTuple

from bus.channels import Stream
from bus.deadletters.operations import refuse
from bus.errors import AuthenticationFailed
from bus.message import Message
from bus.reading.replays import placed_with, refusal_at
from bus.store import Entry
from bus.worker.run_calls import RunCalls


class Screened(NamedTuple):
    """A message no handler may see."""

    #: Why it was refused (set aside as a dead letter); ``None``: passed over, not the
    #: agent's to see.
    refused: str | None


async def screen(
    calls: RunCalls, agent: str, stream: Stream, entry: Entry, message: Message
) -> Screened | None:
    """Whether ``message`` (``entry`` of ``stream``) is kept from ``agent``'s handlers:
    ``None`` if they may see it."""
    bus = calls.bus
    try:
        bus.guard.admit(message, stream, agent=agent)
    except AuthenticationFailed as exc:  # never handed to a handler
        await calls.io(refuse, bus, agent, message, stream, exc)
        return Screened(f"refused: {exc}")
    read, first = placed_with(entry, message)  # on Redis, the run's read brought it
    if not read:
        first = await calls.io(bus.store.log.placed, str(message.id))
    copy = refusal_at(entry, message, first)
    if copy is not None:  # a replay: refused like a forgery, loudly
        await calls.io(refuse, bus, agent, message, stream, copy)
        return Screened(f"refused: {copy}")
    if not bus.guard.visible(message, agent=agent):  # a dead letter not for it
        return Screened(None)
    return None

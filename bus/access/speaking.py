"""Whom the code running now speaks for: the agent whose bound bus made the call.

A worker hands each handler a bus bound to its agent (:class:`bus.client.BoundBus`); every call
through it runs under :func:`speaking_as` that agent. The guard reads :func:`speaker`: inside
such a call a message may only be sent as that agent, the agent acts only for itself, and the
keys of the agents a worker hosts sign only for their own agent's calls (see
:meth:`bus.access.guard.Guard.confine`). Any other path a handler could take to the worker's bus
(the :class:`~bus.Bus` object itself, its publisher or guard, from any thread) has no speaker,
so it cannot sign as a hosted agent at all.

A context variable: it follows the call into the threads it hands work to with
``contextvars.copy_context`` (as the bus's own pools do), and never into a thread started
elsewhere, which therefore speaks for nobody.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

_speaker: contextvars.ContextVar[str | None] = contextvars.ContextVar("bus_speaker", default=None)


def speaker() -> str | None:
    """The agent the current call speaks for (``None``: not a bound bus's call)."""
    return _speaker.get()


@contextmanager
def speaking_as(agent: str) -> Iterator[None]:
    """Run the block as a call of ``agent``'s bound bus."""
    token = _speaker.set(agent)
    try:
        yield
    finally:
        _speaker.reset(token)


def unspoken() -> contextvars.Context:
    """A copy of the current context that speaks for nobody: for work a call starts that is not
    the call's own (a worker's run of another agent, kicked by a handler's publish)."""
    context = contextvars.copy_context()
    context.run(_speaker.set, None)
    return context

"""What a confused (or injected) handler of one hosted agent might try, to speak as another one
hosted by the same worker: every way it can reach. Each attempt's outcome is the error's type
(``accepted`` if the message went out)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bus import Bus
from bus.auth.certificates import Credentials
from bus.auth.signing import sign
from bus.message import build_message
from bus.worker import Context


def _outcome(attempt: Callable[[], Any]) -> str:
    try:
        attempt()
    except Exception as exc:
        return type(exc).__name__
    return "accepted"


def _in_thread(attempt: Callable[[], Any]) -> str:
    """The attempt from a thread of the handler's own (no context of the call it came from)."""
    found: list[str] = []
    thread = threading.Thread(target=lambda: found.append(_outcome(attempt)))
    thread.start()
    thread.join(10)
    return found[0] if found else "hung"


def attempts(ctx: Context, other: str) -> dict[str, str]:
    """Try to publish as ``other`` every way ``ctx`` reaches; path -> outcome."""
    bound: Any = ctx.bus
    worker_bus: Any = bound._BoundBus__bus  # the worker's Bus, behind the bound one
    text = f"impersonation of {other}"

    def message() -> Any:
        return build_message(channel="#engineering", sender=other, content=text)

    guard: Any = worker_bus.guard
    held: Any = guard._held.get(other)
    return {
        "ctx.publish": _outcome(lambda: ctx.publish("#engineering", text, sender=other)),  # type: ignore[call-arg]
        "ctx.bus.publish": _outcome(lambda: bound.publish("#engineering", text, sender=other)),
        "ctx.bus.send": _outcome(lambda: bound.send(ctx.agent, text, sender=other)),
        "ctx.bus.request": _outcome(
            lambda: bound.request(ctx.agent, text, sender=other, timeout=1)
        ),
        "ctx.bus.post": _outcome(lambda: bound.post(message())),
        "worker_bus.publish": _outcome(
            lambda: worker_bus.publish("#engineering", text, sender=other)
        ),
        "worker_bus.send": _outcome(lambda: worker_bus.send(ctx.agent, text, sender=other)),
        "worker_bus.in_thread": _in_thread(
            lambda: worker_bus.publish("#engineering", text, sender=other)
        ),
        "publisher.post": _outcome(lambda: worker_bus.publisher.post(message())),
        "guard.outgoing": _outcome(lambda: guard.outgoing(message())),
        "sign.with_held_key": _outcome(lambda: sign(message(), held)),
        "sign.in_thread": _in_thread(lambda: sign(message(), held)),
        "sign.with_loaded_key": _outcome(lambda: sign(message(), _loaded(worker_bus, other))),
        "new_bus.publish": _outcome(lambda: _new_bus_publishes(worker_bus, other, text)),
    }


def _loaded(worker_bus: Any, name: str) -> Credentials:
    """``name``'s credentials loaded afresh from the worker's credentials directory."""
    return Credentials.load(Path(worker_bus.settings.credentials_dir) / f"{name}.json")


def _new_bus_publishes(worker_bus: Any, sender: str, text: str) -> None:
    """A bus of the handler's own, from the worker's settings (its environment)."""
    with Bus(worker_bus.settings) as own:
        own.publish("#engineering", text, sender=sender)

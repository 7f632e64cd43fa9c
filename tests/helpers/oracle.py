"""A request to a pull agent ``oracle`` that answers ``42`` from a thread, looking at something
once it holds the question and before it replies (what a test checks in between)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from bus import Bus
from bus.message import Message

Seen = TypeVar("Seen")


def ask_the_oracle(
    bus: Bus, look: Callable[[Message], Seen], *, sender: str = "ceo"
) -> tuple[Message, list[Seen]]:
    """``sender``'s request to ``oracle`` (registered here), which calls ``look(question)``
    when handed the request, then replies: the reply, and what ``look`` returned."""
    responder = bus.agent("oracle")
    seen: list[Seen] = []

    def answer() -> None:
        question = responder.receive(timeout=10)
        assert question is not None
        seen.append(look(question))
        responder.reply(question, "42")

    thread = threading.Thread(target=answer)
    thread.start()
    reply = bus.request("oracle", "the answer?", sender=sender, timeout=20)
    thread.join(10)
    assert reply.content == "42"
    assert reply.causation_id is not None
    return reply, seen

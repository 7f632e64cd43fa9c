"""The bus a handler is handed is bound to its agent, with auth off too: another sender, or
acting for another agent, is refused naming both; the async context drives the same bound bus."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import cast

import pytest

from bus import AsyncBus, Bus, PermissionDenied
from bus.channels import Retention
from bus.deadletters.operations import list_dead_letters
from bus.message import Message
from bus.worker.bound_bus import BoundBus
from bus.worker.context import AsyncHandlerContext, HandlerContext
from tests.brokers import settings_for


@pytest.fixture
def bus() -> Iterator[Bus]:
    instance = Bus(settings_for("memory")).start()
    instance.register_agent("wa", channels=["#engineering"])
    instance.register_agent("wb", channels=["#engineering"])
    try:
        yield instance
    finally:
        instance.destroy()


def test_a_bound_bus_refuses_another_sender_or_agent_naming_both(bus: Bus) -> None:
    bound = BoundBus(bus, "wa")
    with pytest.raises(PermissionDenied) as refused:
        bound.publish("#engineering", "x", sender="wb")
    assert "'wa'" in str(refused.value)
    assert "'wb'" in str(refused.value)
    assert refused.value.context == {"identity": "wa", "action": "publish", "sender": "wb"}
    for attempt in (
        lambda: bound.send("wa", "x", sender="wb"),
        lambda: bound.request("wa", "x", sender="wb", timeout=0.1),
        lambda: bound.post(Message(channel="#engineering", sender="wb", content="x")),
        lambda: bound.receive("wb", timeout=0),
        lambda: bound.subscribe("wb", "#engineering"),
        lambda: bound.unregister_agent("wb"),
        lambda: bound.agent("wb"),
        bound.stop,
        bound.destroy,
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert bound.publish("#engineering", "mine", sender="wa").sender == "wa"
    assert [m.content for m in bus.history("#engineering")] == ["mine"]
    assert bus.started


def test_a_handler_context_and_its_async_twin_act_through_the_bound_bus(bus: Bus) -> None:
    handled = bus.publish("#engineering", "go", sender="wb")
    context = HandlerContext(bus, "wa", handled, task_id=None, attempt=1)
    assert isinstance(context.bus, BoundBus)
    with pytest.raises(PermissionDenied):
        context.bus.publish("#engineering", "x", sender="wb")
    with ThreadPoolExecutor(2) as pool:
        async_context = AsyncHandlerContext(
            AsyncBus(cast(Bus, context.bus), executor=pool), context
        )

        async def attempt() -> Message:
            with pytest.raises(PermissionDenied):
                await async_context.bus.publish("#engineering", "x", sender="wb")
            return await async_context.publish("#engineering", "reply")

        sent = asyncio.run(attempt())
    assert sent.sender == "wa"
    assert sent.causation_id == handled.id


def test_a_refusal_a_handler_comes_upon_is_dead_lettered_as_the_process(bus: Bus) -> None:
    handled = bus.publish("#engineering", "go", sender="wb")
    context = HandlerContext(bus, "wa", handled, task_id=None, attempt=1)
    original = bus.publish("#engineering", "once", sender="wb")
    bus.store.log.append(  # a copy of it, appended by a store writer
        "c:#engineering", original.model_dump_json(exclude={"seq"}), 0, Retention()
    )
    assert [m.content for m in iter(lambda: context.receive(timeout=0), None)] == ["go", "once"]
    [letter] = list_dead_letters(bus)
    assert (letter.agent, letter.seq) == ("wa", 3)
    assert letter.error.startswith("refused (replayed)")

"""Every agent-facing surface matches the one declaration in bus.api: ``Bus``, ``AsyncBus``,
``AgentClient``, ``AsyncAgentClient`` and the handler contexts have each declared operation,
with the declared parameters (names, kinds, defaults, annotations), sync or async as the surface
is, and no public operation the declaration lacks."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Unpack

import pytest

from bus import AgentClient, AsyncAgentClient, AsyncBus, Bus
from bus.api import AgentOperations, BusOperations, declarations, documented
from bus.message import Message, MessageFields
from bus.worker.bound_bus import BoundBus
from bus.worker.context import AsyncHandlerContext, HandlerContext


@dataclass(frozen=True)
class Surface:
    """A class that should offer the operations of ``declaration``."""

    cls: type
    declaration: type
    asynchronous: bool
    #: Declared return annotations this surface spells otherwise (its own client class).
    returns: dict[str, str] = field(default_factory=dict)
    #: Public members beyond the declaration, each for a reason given where it is listed.
    extra: frozenset[str] = frozenset()
    #: Operations the surface overloads: one of the overloads must take the declared arguments.
    overloaded: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return self.cls.__name__


#: The contexts' ``agent`` (the handling agent's name) and ``reply(content)`` (answering the
#: message being handled) are what a handler has more than an agent client, and
#: ``report_usage`` (charging its handling's tokens and cost to the agent's budget).
CONTEXT_EXTRA, CONTEXT_OVERLOADED = (
    frozenset({"bus", "agent", "report_usage"}),
    frozenset({"reply"}),
)
SURFACES = [
    # Bus.store: the sync facade's parts are public for what is built on it (worker, CLI).
    Surface(Bus, BusOperations, False, {"AgentOperations": "AgentClient"}, frozenset({"store"})),
    # AsyncBus.call: run any blocking function on the bus's threads.
    Surface(
        AsyncBus, BusOperations, True, {"AgentOperations": "AsyncAgentClient"}, frozenset({"call"})
    ),
    # The bus a handler is handed: the worker's, bound to its agent.
    Surface(BoundBus, BusOperations, False),
    # .bus: the bus a client acts on.
    Surface(AgentClient, AgentOperations, False, extra=frozenset({"bus"})),
    Surface(AsyncAgentClient, AgentOperations, True, extra=frozenset({"bus"})),
    Surface(HandlerContext, AgentOperations, False, {}, CONTEXT_EXTRA, CONTEXT_OVERLOADED),
    Surface(AsyncHandlerContext, AgentOperations, True, {}, CONTEXT_EXTRA, CONTEXT_OVERLOADED),
]


def _parameters(function: Callable[..., Any], returns: dict[str, str]) -> list[str]:
    """The signature as comparable lines: each parameter's kind, name, annotation, default,
    and the return annotation (with the surface's own spelling of declared return types)."""
    signature = inspect.signature(function)
    lines = [
        f"{p.kind.description} {p.name}: {p.annotation}"
        + ("" if p.default is p.empty else f" = {p.default!r}")
        for p in signature.parameters.values()
    ]
    returned = str(signature.return_annotation)
    return [*lines, f"-> {returns.get(returned, returned)}"]


def _positional(lines: list[str]) -> list[str]:
    return [line.replace("positional or keyword", "positional-only") for line in lines]


def _difference(surface: Surface, name: str, declaration: Any) -> str | None:
    """How ``surface`` differs from the declaration of operation ``name``, if it does."""
    try:
        member = inspect.getattr_static(surface.cls, name)
    except AttributeError:
        member = declaration
    if member is declaration:
        return "missing"
    if isinstance(declaration, property):
        if not isinstance(member, property) or member.fget is None:
            return "not a property"
        if _parameters(member.fget, {}) != _parameters(declaration.fget, {}):  # type: ignore[arg-type]
            return f"property {inspect.signature(member.fget)}"
        return None
    if not inspect.isfunction(member):
        return "not a method"
    if inspect.iscoroutinefunction(member) != surface.asynchronous:
        return f"{'not ' if surface.asynchronous else ''}async"
    wanted = _parameters(declaration, surface.returns)
    if name in surface.overloaded:
        overloads = [_positional(_parameters(each, {})) for each in typing.get_overloads(member)]
        return None if _positional(wanted) in overloads else "no overload as declared"
    return None if _parameters(member, {}) == wanted else str(inspect.signature(member))


def differences(surface: Surface) -> list[str]:
    """What ``surface`` does otherwise than its declaration says, one line each."""
    declared = declarations(surface.declaration)
    found = [
        f"{surface}.{name}: {difference}"
        for name, declaration in declared.items()
        if (difference := _difference(surface, name, declaration)) is not None
    ]
    found += [
        f"{surface}.{name}: not declared"
        for name in dir(surface.cls)
        if not name.startswith("_") and name not in declared and name not in surface.extra
    ]
    return found


@pytest.mark.parametrize("surface", SURFACES, ids=str)
def test_each_surface_has_every_declared_operation_as_declared(surface: Surface) -> None:
    assert differences(surface) == []


@pytest.mark.parametrize("surface", SURFACES, ids=str)
def test_each_operation_shows_the_declared_documentation(surface: Surface) -> None:
    for name, declaration in declarations(surface.declaration).items():
        member = getattr(surface.cls, name)
        doc = inspect.getdoc(member)
        assert doc, f"{surface}.{name} has no docstring"
        derived = getattr(member, "__wrapped__", None) is not None  # made by awaited(...)
        if (not surface.asynchronous or derived) and name not in surface.overloaded:
            assert member.__doc__ == declaration.__doc__, f"{surface}.{name} has its own"


def test_asyncbus_as_it_was_is_reported_missing_what_it_lacked() -> None:
    lacked = {"update_channel", "register_agents", "subscribe_many", "destroy"}
    old = type("AsyncBus", (), {k: v for k, v in vars(AsyncBus).items() if k not in lacked})
    report = differences(Surface(old, BusOperations, True, {"AgentOperations": "AsyncAgentClient"}))
    assert sorted(report) == sorted(
        [*(f"AsyncBus.{name}: missing" for name in lacked), "AsyncBus.call: not declared"]
    )


class Drifted:
    """An asyncio agent client gone wrong in every way the parity test looks at."""

    @property
    def name(self):  # the annotation is missing
        return "drifted"

    async def publish(self, channel: str, content: str, **fields: Unpack[MessageFields]) -> Message:
        raise NotImplementedError

    def send(self, recipient: str, content: str, **fields: Unpack[MessageFields]) -> Message:
        raise NotImplementedError  # not async

    async def request(
        self, recipient: str, content: str, *, timeout: float = 10.0, **fields: Any
    ) -> Message:
        raise NotImplementedError  # another default, fields untyped

    async def receive(self, channel: str | None = None) -> Message | None:
        raise NotImplementedError  # no timeout

    async def subscribe(self, topic: str) -> bool:
        raise NotImplementedError  # another name

    async def unsubscribe(self, channel: str, /) -> bool:
        raise NotImplementedError  # another kind

    async def subscriptions(self) -> list[str] | None:
        raise NotImplementedError  # another return type

    async def history(self, channel: int, **filters: Any) -> list[Message]:
        raise NotImplementedError  # other annotations

    direct_history = None  # not a method

    async def shout(self) -> None:
        """Not declared."""


def test_a_surface_that_drifted_is_reported_operation_by_operation() -> None:
    report = differences(Surface(Drifted, AgentOperations, True))
    assert [line.split(":")[0].split("(")[0] for line in report] == [
        "Drifted.name",
        "Drifted.send",
        "Drifted.reply",
        "Drifted.request",
        "Drifted.receive",
        "Drifted.subscribe",
        "Drifted.unsubscribe",
        "Drifted.subscriptions",
        "Drifted.history",
        "Drifted.direct_history",
        "Drifted.status",
        "Drifted.wait_for",
        "Drifted.shout",
    ]
    assert "Drifted.reply: missing" in report
    assert "Drifted.send: not async" in report
    assert "Drifted.direct_history: not a method" in report
    assert "Drifted.shout: not declared" in report


def test_a_sync_surface_with_a_coroutine_is_reported() -> None:
    drifted = type("Bus", (Bus,), {"agents": AsyncBus.agents})
    returns = {"AgentOperations": "AgentClient"}
    assert differences(Surface(drifted, BusOperations, False, returns, frozenset({"store"}))) == [
        "Bus.agents: async"
    ]


def test_a_class_that_implements_a_declared_operation_nowhere_is_refused() -> None:
    partial = type("Partial", (AgentOperations,), {"name": AgentClient.name})
    with pytest.raises(TypeError, match=r"Partial does not implement AgentOperations\.publish"):
        documented(partial)


def test_help_shows_the_declared_documentation_with_the_real_signature() -> None:
    for operation in (Bus.publish, AsyncBus.publish):
        text = inspect.getdoc(operation) or ""
        assert text.startswith("Publish to a channel; returns the message")
        assert list(inspect.signature(operation).parameters)[:4] == [
            "self",
            "channel",
            "content",
            "sender",
        ]
    assert AsyncBus.update_channel.__qualname__ == "AsyncBus.update_channel"
    assert inspect.iscoroutinefunction(AsyncBus.update_channel)


def test_the_errors_of_refusals_are_importable_from_bus() -> None:
    import bus
    from bus import errors

    for name in ("PermissionDenied", "PublishRejected", "RateLimited"):
        assert name in bus.__all__
        assert getattr(bus, name) is getattr(errors, name)
        assert issubclass(getattr(bus, name), errors.BusError)

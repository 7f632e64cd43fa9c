"""How the surfaces are made from the declaration: :func:`documented` for the classes that
implement a protocol, :class:`awaited` for the asyncio ones that derive from it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from types import MethodType
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

__all__ = ["Awaits", "awaited", "declarations", "documented"]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)


def declarations(protocol: type) -> dict[str, Any]:
    """The operations ``protocol`` declares (its own and its protocol bases'), by name: each a
    function or a property, with the declared signature and docstring."""
    declared: dict[str, Any] = {}
    for declaring in reversed(protocol.__mro__):
        if Protocol in declaring.__bases__:
            declared.update(
                (name, member)
                for name, member in vars(declaring).items()
                if not name.startswith("_") and (callable(member) or isinstance(member, property))
            )
    return declared


def documented(cls: C) -> C:
    """Give each operation ``cls`` implements without a docstring its declaration's, so
    ``help(Bus.publish)`` shows it; the protocols are those ``cls`` subclasses.

    Raises:
        TypeError: ``cls`` implements a declared operation nowhere (mypy says so too: the class
            cannot be instantiated).
    """
    for protocol in [base for base in cls.__mro__ if Protocol in base.__bases__]:
        for name, declared in declarations(protocol).items():
            if getattr(cls, name) is declared:
                raise TypeError(f"{cls.__qualname__} does not implement {protocol.__name__}.{name}")
            member = vars(cls).get(name)
            if member is not None and member.__doc__ is None:
                member.__doc__ = declared.__doc__
    return cls


class Awaits(Protocol):
    """What the asyncio class of an :class:`awaited` operation provides: a way to run the
    synchronous object's operation of that name (on a thread) and await it."""

    async def _await_sync(self, operation: str, /, *args: Any, **kwargs: Any) -> Any: ...


class awaited(Generic[P, R]):  # lower case, as property and cached_property are
    """An asyncio operation derived from its declaration: ``publish =
    awaited(BusOperations.publish)`` in a class body makes ``async def publish`` with the
    declared parameters (for mypy and IDEs too) and docstring, which awaits the class's
    synchronous object's ``publish`` through ``_await_sync``.

    In the class it becomes a plain coroutine function (``__set_name__`` puts it there), so
    ``help``, ``inspect`` and method binding see nothing special.
    """

    def __init__(self, declared: Callable[Concatenate[Any, P], R]) -> None:
        operation_name = declared.__name__

        @functools.wraps(declared)
        async def operation(self: Awaits, /, *args: P.args, **kwargs: P.kwargs) -> R:
            result: R = await self._await_sync(operation_name, *args, **kwargs)
            return result

        self.function = operation

    def __set_name__(self, owner: type, name: str) -> None:
        self.function.__qualname__ = f"{owner.__qualname__}.{name}"
        self.function.__module__ = owner.__module__
        setattr(owner, name, self.function)

    @overload
    def __get__(
        self, instance: None, owner: type | None = None
    ) -> Callable[Concatenate[Awaits, P], Coroutine[Any, Any, R]]: ...

    @overload
    def __get__(
        self, instance: Awaits, owner: type | None = None
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    def __get__(self, instance: Awaits | None, owner: type | None = None) -> Any:
        return self.function if instance is None else MethodType(self.function, instance)

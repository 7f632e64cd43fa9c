""" "Did you mean ...?" for an unknown channel or agent named on the command line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from bus.core import Bus
from bus.errors import BusError, UnknownAgent, UnknownChannel


def close_names(name: str, known: Iterable[str]) -> list[str]:
    """Up to three of ``known`` that look like ``name`` (a typo, a missing ``#``), best first."""
    known = list(known)
    matches = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if not name.startswith("#") and f"#{name}" in known and f"#{name}" not in matches:
        matches.insert(0, f"#{name}")
    return matches[:3]


def did_you_mean(names: list[str]) -> str:
    """``; did you mean '#engineering'?`` (or ``'a' or 'b'``), or nothing."""
    if not names:
        return ""
    return "; did you mean " + " or ".join(repr(name) for name in names) + "?"


def with_suggestion(exc: UnknownChannel | UnknownAgent, bus: Bus) -> BusError:
    """``exc`` with the known names that look like the one it names (asked of ``bus``'s
    store), or ``exc`` itself when none does or the store cannot say."""
    try:
        if isinstance(exc, UnknownChannel):
            name, known = exc.context.get("channel"), bus.store.registry.list_channels()
            names = [spec.name for spec in known]
        else:
            name, names = exc.context.get("agent"), bus.agents()
    except BusError:
        return exc
    if not isinstance(name, str):
        return exc
    hint = did_you_mean(close_names(name, names))
    if not hint:
        return exc
    return type(exc)(exc.message + hint, **exc.context, suggestions=close_names(name, names))

"""Argument types of the ``bus`` command line, and a parser whose errors are one line."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``bus: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"bus: error: {message} (see '{self.prog} --help')\n")


def non_negative(text: str) -> int:
    """A whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def positive(text: str) -> int:
    """A whole number >= 1."""
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def seconds(text: str) -> float:
    """A number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def instant(text: str) -> datetime:
    """An ISO 8601 time; without a zone, local time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {text!r} (e.g. 2025-01-31T09:00:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.astimezone()  # naive: local time

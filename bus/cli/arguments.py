"""Argument types of the ``bus`` command line, a parser whose errors are one line, and the
subcommand that describes itself with examples."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import NoReturn

from pydantic import JsonValue

from bus.kinds import message_type
from bus.message import Metadata


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``bus: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"bus: error: {message} (see '{self.prog} --help')\n")


def add_subcommand(
    subparsers: argparse._SubParsersAction[Parser],
    name: str,
    help: str,
    examples: str,
    *parents: argparse.ArgumentParser,
) -> Parser:
    """Add subcommand ``name`` whose description is ``help`` as a sentence and whose epilog
    lists ``examples`` (lines of ``  bus ...``), taking the options of ``parents``."""
    return subparsers.add_parser(
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=list(parents),  # type: ignore[arg-type]  # any parser can be a parent
    )


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


def message_kind(text: str) -> str:
    """A message type: a built-in one or a custom name (``task``, ``result``)."""
    try:
        return str(message_type(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def metadata_pair(text: str) -> tuple[str, JsonValue]:
    """``KEY=VALUE`` of ``--metadata``: VALUE as JSON if it parses as JSON, else the string."""
    key, equals, raw = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"not KEY=VALUE: {text!r} (e.g. owner=me, cost=0.2)")
    try:
        value: JsonValue = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def metadata_of(pairs: list[tuple[str, JsonValue]]) -> dict[str, JsonValue] | None:
    """The ``metadata`` of ``--metadata`` pairs: keys bus knows (``task_id``, ``project_id``,
    ``tokens_used``, ``cost``) as such, any other key (or ``extra.KEY``) under ``extra``;
    ``None`` for no pairs. The message model validates the values."""
    if not pairs:
        return None
    metadata: dict[str, JsonValue] = {}
    extra: dict[str, JsonValue] = {}
    for key, value in pairs:
        if key in Metadata.model_fields and key != "extra":
            metadata[key] = value
        else:
            extra[key.removeprefix("extra.")] = value
    if extra:
        metadata["extra"] = extra
    return metadata

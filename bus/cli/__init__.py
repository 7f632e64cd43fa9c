"""``bus``: the command line of an agent bus (``bus --help``; also ``python -m bus``).

Every failure is one line on standard error, ``bus: error: ...``, with passwords in URLs
masked, and an exit code that says what kind it was: :data:`EXIT_UNAVAILABLE` (1) a server
cannot be reached (or another bus error), :data:`EXIT_USAGE` (2) bad input or settings,
:data:`EXIT_TIMEOUT` (3) timed out.
"""

from __future__ import annotations

import logging
import os
import sys

from kombu.exceptions import OperationalError
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bus.cli.output import mask
from bus.cli.parser import build_parser, parse
from bus.errors import (
    BusError,
    BusTimeout,
    ChannelExists,
    ConfigurationError,
    InvalidArgument,
    InvalidMessage,
    InvalidName,
    NotSubscribed,
    UnknownAgent,
    UnknownChannel,
    UnknownMessage,
)
from bus.settings import BusSettings
from bus.settings.environment import describe
from bus.settings.logs import configure_logging
from bus.tracing.setup import configure_tracing, shutdown_tracing

#: A server cannot be reached, or the bus refused for another reason.
EXIT_UNAVAILABLE = 1
#: Bad input: arguments, names, message fields, settings.
EXIT_USAGE = 2
#: A request got no reply in time.
EXIT_TIMEOUT = 3
#: Interrupted (Ctrl-C) outside ``bus tail``, which exits 0 then.
EXIT_INTERRUPTED = 130

_BAD_INPUT = (
    ConfigurationError,
    InvalidArgument,
    InvalidMessage,
    InvalidName,
    UnknownChannel,
    UnknownAgent,
    UnknownMessage,
    NotSubscribed,
    ChannelExists,
)


def _fail(text: str, code: int) -> int:
    print(f"bus: error: {mask(text)}", file=sys.stderr, flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the ``bus`` command line with ``argv`` (``sys.argv[1:]`` by default).

    Returns:
        The exit code (see the module doc).
    """
    try:
        args = parse(argv)
    except SystemExit as stop:  # --help, or a usage error already reported
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    try:
        settings = BusSettings()
    except ValidationError as exc:
        return _fail(describe(exc), EXIT_USAGE)
    configure_logging(logging.WARNING, json=settings.log_format == "json")
    try:
        configure_tracing(settings, "bus-cli")  # BUS_OTEL=true; flushed below
        code: int = args.run(args, settings)
        return code
    except BrokenPipeError:  # `bus history ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush
        return 0
    except BusTimeout as exc:
        return _fail(exc.message, EXIT_TIMEOUT)
    except _BAD_INPUT as exc:
        return _fail(exc.message, EXIT_USAGE)
    except BusError as exc:
        return _fail(exc.message, EXIT_UNAVAILABLE)
    except (RedisConnectionError, RedisTimeoutError, OperationalError, ConnectionError) as exc:
        return _fail(f"lost the connection to a server: {exc}", EXIT_UNAVAILABLE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        shutdown_tracing()


__all__ = ["EXIT_TIMEOUT", "EXIT_UNAVAILABLE", "EXIT_USAGE", "build_parser", "main"]

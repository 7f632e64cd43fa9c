"""``bus flower``: Flower for this bus, or a one-line reason it cannot start.

It runs ``celery -A bus flower`` in this process's place (same interpreter, same environment),
after the three checks whose failure would otherwise be a Click error, a Flower that shows
nothing, or an open admin API:

- Flower is installed: Celery finds its ``flower`` command through the ``celery.commands``
  entry point (without it: ``Error: No such command 'flower'``);
- the broker is not ``memory://``, which lives in one process: Flower could never see a worker;
- ``FLOWER_BASIC_AUTH=user:password`` is set. Flower reads it from the environment (never from
  the command line, where ``ps`` shows it); its HTTP API can revoke tasks and shut workers down,
  so our tooling never serves it unauthenticated (as the compose file and the Procfile).
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import entry_points

from bus.cli.arguments import Parser, positive
from bus.errors import ConfigurationError
from bus.settings import BusSettings
from bus.settings.transports import transport_of

#: How to install Flower when it is missing.
INSTALL_HINT = "pip install 'flower>=2' (a dependency of bus: `pip install -e .` brings it too)"


HELP = "run Flower (celery -A bus flower) on this bus, behind basic auth"
EXAMPLES = """\
  FLOWER_BASIC_AUTH=admin:s3cret BUS_BROKER_URL=redis://127.0.0.1:6379/0 bus flower
  bus flower --port 5600 -- --max_tasks=50000     (options after -- go to Flower)"""


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    """Add ``bus flower`` to the ``bus`` parser."""
    parser = sub.add_parser(
        "flower",
        help=HELP,
        description=HELP[0].upper() + HELP[1:] + ". Needs FLOWER_BASIC_AUTH=user:password.",
        epilog="examples:\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=positive, default=5555, help="port (default: 5555)")
    parser.add_argument(
        "--address", default="127.0.0.1", help="address to listen on (default: loopback)"
    )
    parser.add_argument(
        "flower_options", nargs="*", metavar="FLOWER_OPTION", help="more options for Flower"
    )
    parser.set_defaults(run=run)


def flower_installed() -> bool:
    """Whether ``celery flower`` exists here: Flower's entry point is where Celery looks."""
    return any(point.name == "flower" for point in entry_points(group="celery.commands"))


def flower_command(args: argparse.Namespace) -> list[str]:
    """``celery -A bus flower`` with the options of ``bus flower``, run by this interpreter."""
    options = [f"--port={args.port}", f"--address={args.address}", *args.flower_options]
    return [sys.executable, "-m", "celery", "-A", "bus", "flower", *options]


def check(settings: BusSettings) -> None:
    """Raise :class:`ConfigurationError` with the fix if Flower cannot serve this bus."""
    if not flower_installed():
        raise ConfigurationError(f"Flower is not installed in this environment: {INSTALL_HINT}")
    if transport_of(settings.broker_url).in_process:
        raise ConfigurationError(
            f"Flower watches workers through the broker, and {settings.broker_url} lives in one "
            "process: set BUS_BROKER_URL to the workers' broker (e.g. redis://127.0.0.1:6379/0)"
        )
    if ":" not in os.environ.get("FLOWER_BASIC_AUTH", ""):
        raise ConfigurationError(
            "Flower's HTTP API can revoke tasks and shut workers down: set "
            "FLOWER_BASIC_AUTH=user:password to serve it behind basic auth"
        )


def run(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus flower``: check, then become ``celery -A bus flower`` (returns only on an error)."""
    check(settings)
    command = flower_command(args)
    sys.stdout.flush()
    os.execv(command[0], command)
    return 1  # pragma: no cover  # execv does not return

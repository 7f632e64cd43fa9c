"""``bus web``: the live console in a browser (:mod:`bus.console`), on 127.0.0.1 by default."""

from __future__ import annotations

import argparse

from bus.cli.arguments import Parser, positive
from bus.console.options import DEFAULT_HOST, DEFAULT_PORT, ConsoleOptions
from bus.console.serving import console_bus, serve
from bus.console.sessions import Sessions
from bus.errors import ConfigurationError
from bus.names import check_agent_name
from bus.servers.probes import check_store
from bus.settings import BusSettings

HELP = "serve the live console: channels, conversations, deliveries, dead letters"
EXAMPLES = """\
  bus web                               (http://127.0.0.1:8088; on memory:// it hosts the agents)
  BUS_BROKER_URL=redis://127.0.0.1:6379/0 bus web --port 8090
  BUS_AUTH=required BUS_WEB_SECRET=... bus web     (a login is required)
  bus web --token-for alice             (alice's login token: she sees her own direct messages)"""


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    """Add ``bus web`` to the ``bus`` parser."""
    parser = sub.add_parser(
        "web",
        help=HELP,
        description=HELP[0].upper() + HELP[1:] + ", as they happen.",
        epilog="examples:\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default: {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=positive, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--token-for",
        metavar="NAME",
        help="print NAME's login token (from BUS_WEB_SECRET) and exit",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus web``: serve until interrupted, or print a login token."""
    options = ConsoleOptions()
    secret = options.login_secret()
    if args.token_for is not None:
        if not secret:
            raise ConfigurationError(
                "set BUS_WEB_SECRET (or FLOWER_BASIC_AUTH): login tokens are derived from it"
            )
        name = check_agent_name(args.token_for)
        print(Sessions(auth_required=True, secret=secret).person_token(name), flush=True)
        return 0
    if settings.auth == "required" and not secret:
        raise ConfigurationError(
            "BUS_AUTH=required: set BUS_WEB_SECRET (or FLOWER_BASIC_AUTH=user:password), the "
            "secret an operator logs in to the console with (nobody could log in without it)"
        )
    check_store(settings)
    with console_bus(settings) as bus:
        print(f"bus console on http://{args.host}:{args.port}/", flush=True)
        serve(bus, args.host, args.port, options)
    return 0

"""``bus channels`` (list) and ``bus channels set NAME ...`` (change one at run time)."""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import ValidationError

from bus.channels import Retention
from bus.cli.arguments import Parser
from bus.cli.commands import connected
from bus.cli.output import show_channels
from bus.errors import InvalidArgument
from bus.settings import BusSettings

HELP = "list channels: kind, members, last seq, retained, retention; or change one"


def listing(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus channels``."""
    with connected(settings) as bus:
        infos = bus.list_channels()
    show_channels(infos, args.json)
    return 0


def change(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus channels set NAME [--max-messages N] [--max-age S | --no-max-age] [--kind K]``."""
    with connected(settings) as bus:
        current = bus.get_channel(args.name).spec.retention
        retention = None
        if args.max_messages is not None or args.max_age is not None or args.no_max_age:
            age = current.max_age_seconds if args.max_age is None else args.max_age
            age = None if args.no_max_age else age
            try:
                retention = Retention(
                    max_messages=current.max_messages
                    if args.max_messages is None
                    else args.max_messages,
                    max_age_seconds=age,
                )
            except ValidationError as exc:
                raise InvalidArgument(
                    f"invalid retention: {exc.errors()[0]['msg']}", channel=args.name
                ) from None
        info = bus.update_channel(
            args.name,
            retention=retention,
            kind=args.kind,
            overflow=args.overflow,
            max_hops=args.max_hops,
        )
    show_channels([info], args.json)
    return 0


def add_parser(sub: Any, json_flag: argparse.ArgumentParser) -> None:
    """Add ``bus channels`` and ``bus channels set`` to the ``bus`` parser."""
    p: Parser = sub.add_parser(
        "channels",
        help=HELP,
        description=HELP[0].upper() + HELP[1:] + ".",
        epilog="examples:\n  bus channels\n  bus --json channels | jq .name\n"
        "  bus channels set '#engineering' --max-messages 5000 --max-age 86400",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[json_flag],
    )
    p.set_defaults(run=listing)
    actions = p.add_subparsers(dest="channels_command", metavar="ACTION", parser_class=Parser)
    s: Parser = actions.add_parser(
        "set",
        help="change a channel's retention or kind; every process applies it at once",
        parents=[json_flag],  # type: ignore[list-item]  # any parser can be a parent
    )
    s.add_argument("name", metavar="NAME", help="the channel, e.g. '#engineering'")
    s.add_argument("--max-messages", type=int, metavar="N", help="newest messages kept")
    s.add_argument("--max-age", type=float, metavar="S", help="seconds a message is kept")
    s.add_argument("--no-max-age", action="store_true", help="keep messages until count trims")
    s.add_argument("--kind", choices=["topic", "broadcast"], help="who receives it")
    s.add_argument(
        "--overflow",
        choices=["drop-oldest", "reject-publish"],
        help="what a member further behind than the retention costs: its oldest unread "
        "messages (drop-oldest) or the publish (reject-publish)",
    )
    s.add_argument(
        "--max-hops",
        type=int,
        metavar="N",
        help="the channel's own hop limit, replacing BUS_MAX_HOPS (0: the setting's again)",
    )
    s.set_defaults(run=change)

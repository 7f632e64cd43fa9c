"""``bus publish``, ``bus send`` and ``bus request``: the commands that put a message on the bus,
with the options they share (``--sender``, ``--type``, ``--priority``, ``--metadata``)."""

from __future__ import annotations

import argparse
import sys

from bus.cli.arguments import (
    Parser,
    add_subcommand,
    message_kind,
    metadata_of,
    metadata_pair,
    seconds,
)
from bus.cli.commands import connected
from bus.cli.output import emit_json
from bus.core import Bus
from bus.kinds import MessageType, Priority
from bus.message import Message
from bus.settings import BusSettings


def _text(value: str) -> str:
    """TEXT as given, or standard input for ``-``."""
    return sys.stdin.read().rstrip("\n") if value == "-" else value


def _sender(args: argparse.Namespace, bus: Bus) -> str:
    """``--sender``, else who this process acts as (auth on), else ``cli``."""
    sender: str = args.sender or bus.guard.identity or "cli"
    return sender


def _report(message: Message, as_json: bool, verb: str) -> None:
    if as_json:
        emit_json(message)
        return
    where = message.channel if message.channel is not None else f"{message.recipient}'s inbox"
    print(f"{verb} {where} as #{message.seq} (id {message.id})")


def publish(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus publish CHANNEL TEXT``."""
    with connected(settings) as bus:
        message = bus.publish(
            args.channel,
            _text(args.text),
            sender=_sender(args, bus),
            type=args.type,
            priority=args.priority,
            metadata=metadata_of(args.metadata),
        )
    _report(message, args.json, "published to")
    return 0


def send(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus send AGENT TEXT``."""
    with connected(settings) as bus:
        message = bus.send(
            args.agent,
            _text(args.text),
            sender=_sender(args, bus),
            type=args.type,
            priority=args.priority,
            metadata=metadata_of(args.metadata),
        )
    _report(message, args.json, "sent to")
    return 0


def request(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus request AGENT TEXT``: prints the reply (BusTimeout, exit 3, if none comes)."""
    with connected(settings) as bus:
        reply = bus.request(
            args.agent,
            _text(args.text),
            sender=_sender(args, bus),
            timeout=args.timeout,
            type=args.type,
            priority=args.priority,
            metadata=metadata_of(args.metadata),
        )
    if args.json:
        emit_json(reply)
    else:
        print(reply.content)
    return 0


def _message_options(sender_help: str, kind: MessageType) -> argparse.ArgumentParser:
    # A new parent each time: subparsers share a parent's actions, defaults included.
    options = argparse.ArgumentParser(add_help=False)
    kinds = [member.value for member in MessageType]
    levels = [level.value for level in Priority]
    options.add_argument(
        "--sender",
        metavar="AGENT",
        default=None,
        help=f"{sender_help} (default: the identity of BUS_CREDENTIALS with auth on, else cli)",
    )
    options.add_argument(
        "--type",
        metavar="TYPE",
        type=message_kind,
        default=kind.value,
        help=f"one of {', '.join(kinds)}, or a type of your own: lower-case letters, digits, "
        f"'_', '.', '-' (e.g. task, result) (default: {kind.value})",
    )
    options.add_argument(
        "--priority",
        metavar="PRIORITY",
        choices=levels,
        default=Priority.NORMAL.value,
        help=f"one of {', '.join(levels)} (default: normal)",
    )
    options.add_argument(
        "--metadata",
        metavar="KEY=VALUE",
        type=metadata_pair,
        action="append",
        default=[],
        help="metadata (repeatable); VALUE is JSON if it parses, else text. task_id, "
        "project_id, tokens_used and cost are bus's own keys; any other goes under "
        "metadata.extra",
    )
    return options


def add_parser(sub: argparse._SubParsersAction[Parser], json_flag: argparse.ArgumentParser) -> None:
    """Add ``publish``, ``send`` and ``request`` to the ``bus`` parser."""
    p = add_subcommand(
        sub,
        "publish",
        "publish a message to a channel",
        "  bus publish '#all-hands' 'Q3 kickoff at 10:00'\n"
        "  bus publish '#engineering' 'Build the parser' --type task --metadata owner=me\n"
        "  echo 'long text' | bus publish '#engineering' - --type task_update --priority high",
        json_flag,
        _message_options("who the message is from", MessageType.ANNOUNCEMENT),
    )
    p.add_argument("channel", metavar="CHANNEL", help="channel name, e.g. '#engineering'")
    p.add_argument("text", metavar="TEXT", help="message content; '-' reads standard input")
    p.set_defaults(run=publish)

    p = add_subcommand(
        sub,
        "send",
        "send a direct message to an agent",
        "  bus send alice 'Please review PR #42' --type review_request",
        json_flag,
        _message_options("who the message is from", MessageType.QUESTION),
    )
    p.add_argument("agent", metavar="AGENT", help="a registered agent")
    p.add_argument("text", metavar="TEXT", help="message content; '-' reads standard input")
    p.set_defaults(run=send)

    p = add_subcommand(
        sub,
        "request",
        "send a direct message to an agent and print its reply",
        "  bus request alice 'When will the API be ready?'\n"
        "  bus --json request alice 'Status?' --timeout 5   (exit 3 if no reply in 5 s)",
        json_flag,
        _message_options("who asks; the reply comes back to them", MessageType.QUESTION),
    )
    p.add_argument("agent", metavar="AGENT", help="a registered agent hosted by a worker")
    p.add_argument("text", metavar="TEXT", help="message content; '-' reads standard input")
    p.add_argument(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        default=30.0,
        help="how long to wait for the reply (default: 30)",
    )
    p.set_defaults(run=request)

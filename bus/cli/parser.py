"""The ``bus`` command line: subcommands, options, help with examples."""

from __future__ import annotations

import argparse
import sys

from bus.cli import (
    agent_commands,
    auth_commands,
    channel_commands,
    commands,
    flower,
    guard_commands,
    run_command,
    sending_commands,
    status_command,
    trace_command,
    web_command,
)
from bus.cli.arguments import (
    Parser,
    add_subcommand,
    instant,
    non_negative,
    positive,
    seconds,
)
from bus.demo.fake_llm.__main__ import add_arguments as add_fake_llm_arguments

DESCRIPTION = """\
Talk to an agent bus from the shell: publish, send, follow and read channels, ask agents,
inspect dead letters, run the demo, check the servers.

The bus is the one BUS_* environment variables describe (BUS_BROKER_URL, BUS_STORE_URL,
BUS_NAMESPACE, ...), as for workers."""

EXAMPLES = """\
examples:
  bus publish '#engineering' 'Deploy is green' --type status_report
  bus send alice 'Can you review PR #42?' --type review_request
  bus request alice 'When will the API be ready?' --timeout 10
  bus tail '#engineering'                 (follow until Ctrl-C)
  bus history '#engineering' --limit 20
  bus --json channels
  bus dlq list && bus dlq replay 3
  bus trace 7f3c9a1e-0c1d-4e55-9a43-2b8f0f6f1c2d   (what a message caused, and its causes)
  BUS_BROKER_URL=amqp://guest:guest@localhost:5672// BUS_STORE_URL=redis://localhost:6379/0 \\
    bus health

exit codes: 0 ok, 1 a server cannot be reached (or another bus error), 2 bad input or settings,
3 timed out."""


def build_parser() -> Parser:
    """The ``bus`` argument parser."""
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print JSON: one object per line for lists and streams, one document otherwise",
    )
    parser = Parser(
        prog="bus",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        parents=[json_flag],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    sending_commands.add_parser(sub, json_flag)

    p = add_subcommand(
        sub,
        "tail",
        "print a channel's messages as they are stored, until Ctrl-C",
        "  bus tail '#engineering'                  (new messages from now on)\n"
        "  bus tail '#engineering' --after 0        (every retained one, then new ones)\n"
        "  bus --json tail '#all-hands' '#incidents' --count 1",
        json_flag,
    )
    p.add_argument("channels", metavar="CHANNEL", nargs="+", help="one or more channels")
    p.add_argument(
        "--after",
        type=non_negative,
        metavar="SEQ",
        help="start after this sequence number instead of at the newest message",
    )
    p.add_argument("--count", type=positive, metavar="N", help="stop after N messages")
    p.set_defaults(run=commands.tail)

    p = add_subcommand(
        sub,
        "history",
        "print a channel's retained messages, oldest first",
        "  bus history '#engineering' --limit 20\n"
        "  bus history '#engineering' --after 120\n"
        "  bus history '#incidents' --since 2025-01-31T09:00:00Z",
        json_flag,
    )
    p.add_argument("channel", metavar="CHANNEL")
    p.add_argument("--limit", type=non_negative, metavar="N", help="only the newest N")
    p.add_argument(
        "--after",
        type=non_negative,
        metavar="SEQ",
        help="only those with a greater sequence number",
    )
    p.add_argument(
        "--since",
        type=instant,
        metavar="ISO8601",
        help="only those published at or after this time (no zone: local time)",
    )
    p.set_defaults(run=commands.history)

    channel_commands.add_parser(sub, json_flag)

    agent_commands.add_parser(sub, json_flag)
    guard_commands.add_parser(sub, json_flag)
    status_command.add_parser(sub, json_flag)

    p = add_subcommand(
        sub,
        "register",
        "register agents (idempotent), each subscribed to the given channels, in one batch",
        "  bus register alice bob --channel '#engineering' --channel '#ops'",
        json_flag,
    )
    p.add_argument("agent_names", nargs="+", metavar="AGENT", help="agents to register")
    p.add_argument(
        "--channel",
        dest="channel_names",
        action="append",
        default=[],
        metavar="CHANNEL",
        help="a channel each agent subscribes to (repeatable)",
    )
    p.add_argument(
        "--receipts",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="make each a receipt consumer (--no-receipts: no longer one)",
    )
    p.set_defaults(run=commands.register)

    dlq = add_subcommand(
        sub,
        "dlq",
        "dead letters: messages whose handlers kept failing",
        "  bus dlq list --limit 10\n  bus dlq replay 3",
        json_flag,
    )
    dlq_sub = dlq.add_subparsers(
        dest="dlq_command", metavar="ACTION", parser_class=Parser, required=True
    )
    p = add_subcommand(
        dlq_sub,
        "list",
        "list retained dead letters, oldest first",
        "  bus dlq list --limit 10",
        json_flag,
    )
    p.add_argument("--limit", type=non_negative, metavar="N", help="only the newest N")
    p.set_defaults(run=commands.dlq_list)
    p = add_subcommand(
        dlq_sub, "replay", "hand a dead letter to its agent again", "  bus dlq replay 3", json_flag
    )
    p.add_argument(
        "dead_letter_seq",
        metavar="DEAD_LETTER_SEQ",
        type=positive,
        help="the dead letter's number (DEAD LETTER column of 'bus dlq list')",
    )
    p.set_defaults(run=commands.dlq_replay)

    run_command.add_parser(sub, json_flag)

    p = add_subcommand(
        sub,
        "demo",
        "run the demo company's story against running workers",
        "  celery -A bus worker &   bus demo --timeout 90",
        json_flag,
    )
    p.add_argument(
        "--timeout", type=seconds, default=60.0, help="seconds the story may take (default: 60)"
    )
    p.set_defaults(run=commands.demo)

    p = add_subcommand(
        sub,
        "health",
        "check that the broker and the store answer (exit 0 if both do)",
        "  bus health\n  bus --json health",
        json_flag,
    )
    p.set_defaults(run=commands.health)

    p = add_subcommand(
        sub,
        "fake-llm",
        "serve a local fake LLM (OpenAI and Anthropic APIs, after a latency) until stopped",
        "  bus fake-llm --port 8089 --latency 0.5\n  bus fake-llm --latency 0.5 --sigma 1 --cap 10",
        json_flag,
    )
    add_fake_llm_arguments(p)
    p.set_defaults(run=commands.fake_llm)

    flower.add_parser(sub)

    auth_commands.add_parser(sub, json_flag)
    trace_command.add_parser(sub, json_flag)
    web_command.add_parser(sub)
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv`` (``sys.argv[1:]`` by default); usage errors exit with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        parser.exit(2)
    args.json = getattr(args, "json", False)
    return args

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
    status_command,
    trace_command,
    web_command,
)
from bus.cli.arguments import (
    Parser,
    instant,
    message_kind,
    metadata_pair,
    non_negative,
    positive,
    seconds,
)
from bus.demo.fake_llm.__main__ import add_arguments as add_fake_llm_arguments
from bus.kinds import MessageType, Priority

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


def _sub(
    subparsers: argparse._SubParsersAction[Parser],
    name: str,
    help: str,
    examples: str,
    *parents: argparse.ArgumentParser,
) -> Parser:
    return subparsers.add_parser(
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=list(parents),  # type: ignore[arg-type]  # any parser can be a parent
    )


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

    p = _sub(
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
    p.set_defaults(run=commands.publish)

    p = _sub(
        sub,
        "send",
        "send a direct message to an agent",
        "  bus send alice 'Please review PR #42' --type review_request",
        json_flag,
        _message_options("who the message is from", MessageType.QUESTION),
    )
    p.add_argument("agent", metavar="AGENT", help="a registered agent")
    p.add_argument("text", metavar="TEXT", help="message content; '-' reads standard input")
    p.set_defaults(run=commands.send)

    p = _sub(
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
    p.set_defaults(run=commands.request)

    p = _sub(
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

    p = _sub(
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

    p = _sub(
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

    dlq = _sub(
        sub,
        "dlq",
        "dead letters: messages whose handlers kept failing",
        "  bus dlq list --limit 10\n  bus dlq replay 3",
        json_flag,
    )
    dlq_sub = dlq.add_subparsers(
        dest="dlq_command", metavar="ACTION", parser_class=Parser, required=True
    )
    p = _sub(
        dlq_sub,
        "list",
        "list retained dead letters, oldest first",
        "  bus dlq list --limit 10",
        json_flag,
    )
    p.add_argument("--limit", type=non_negative, metavar="N", help="only the newest N")
    p.set_defaults(run=commands.dlq_list)
    p = _sub(
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

    p = _sub(
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

    p = _sub(
        sub,
        "health",
        "check that the broker and the store answer (exit 0 if both do)",
        "  bus health\n  bus --json health",
        json_flag,
    )
    p.set_defaults(run=commands.health)

    p = _sub(
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

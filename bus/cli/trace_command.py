"""``bus trace MESSAGE_ID``: the causation tree of a message, as a tree or as JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bus.cli.commands import connected
from bus.settings import BusSettings
from bus.tracing.tree import Trace, TraceNode

HELP = "show what a message caused, and what caused it, up to the oldest message retained"


def _line(node: TraceNode) -> str:
    where = node.channel if node.channel is not None else f"DM to {node.recipient}"
    place = "(reply to a waiting request)" if node.seq is None else f"#{node.seq}"
    stamp = node.time.astimezone().strftime("%H:%M:%S.%f")[:-3]
    mark = "   <- asked" if node.asked else ""
    return f"{where} {place}  {node.sender} [{node.type}]  {stamp}  {node.message_id}{mark}"


def render(found: Trace) -> list[str]:
    """The tree as text lines: each message under the one that caused it."""
    lines = []
    if found.trimmed_cause is not None:
        lines.append(f"(caused by {found.trimmed_cause}, no longer retained)")
    lines.append(_line(found.root))

    def below(node: TraceNode, prefix: str) -> None:
        for index, child in enumerate(node.children):
            last = index == len(node.children) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{_line(child)}")
            below(child, prefix + ("    " if last else "│   "))

    below(found.root, "")
    return lines


def run(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus trace MESSAGE_ID [--json]``."""
    with connected(settings) as bus:
        found = bus.trace(args.message_id)
    if args.json:
        document: dict[str, Any] = found.to_json()
        print(json.dumps(document, ensure_ascii=False), flush=True)
    else:
        print("\n".join(render(found)), flush=True)
    return 0


def add_parser(sub: Any, json_flag: argparse.ArgumentParser) -> None:
    """Add ``bus trace`` to the subcommands ``sub``."""
    parser = sub.add_parser(
        "trace",
        help=HELP,
        description=HELP[0].upper() + HELP[1:] + " (from the store's causation index).",
        epilog="examples:\n  bus trace 7f3c9a1e-0c1d-4e55-9a43-2b8f0f6f1c2d\n"
        "  bus --json trace 7f3c9a1e-0c1d-4e55-9a43-2b8f0f6f1c2d | jq .children",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[json_flag],
    )
    parser.add_argument("message_id", metavar="MESSAGE_ID", help="the id of a retained message")
    parser.set_defaults(run=run)

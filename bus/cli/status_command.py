"""``bus status MESSAGE_ID``: what became of a message, for each member (delivery receipts).

Exit codes: 0 every member reached the state asked for (``--wait STATE``, default
``handled``), 3 not yet (or not within ``--timeout``), 4 some member dead-lettered or refused
it, 2 an unknown or malformed id (one line on stderr, as every bad input).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TextIO

from bus.cli.arguments import Parser
from bus.cli.commands import connected
from bus.cli.output import emit_json
from bus.errors import BusTimeout
from bus.receipts import DeliveryState, DeliveryStatus, MemberStatus
from bus.settings import BusSettings

#: Every member reached the state; not yet; some member dead-lettered or refused the message.
EXIT_REACHED, EXIT_NOT_YET, EXIT_FAILED = 0, 3, 4


def add_parser(sub: argparse._SubParsersAction[Parser], json_flag: argparse.ArgumentParser) -> None:
    """Add ``status`` to the ``bus`` parser."""
    states = [state.value for state in DeliveryState]
    status = sub.add_parser(
        "status",
        help="what became of a message, for each member: queued, in_progress, handled, ...",
        description="Show a message's delivery status for each member of its audience (who "
        "was a member when it was stored): " + ", ".join(states) + ". Exit 0 when every "
        "member reached STATE (default handled), 3 when not yet, 4 when some member "
        "dead-lettered or refused it, 2 for an unknown or malformed id.",
        epilog="examples:\n  bus status 0b9f...\n  bus status 0b9f... --json\n"
        "  bus status 0b9f... --wait handled --timeout 60",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[json_flag],  # type: ignore[list-item]  # any parser can be a parent
    )
    status.add_argument("message_id", metavar="MESSAGE_ID", help="the id bus publish/send printed")
    status.add_argument(
        "--wait",
        metavar="STATE",
        choices=states,
        help="wait until every member is in STATE (or a state it never leaves)",
    )
    status.add_argument(
        "--timeout", type=float, default=30.0, help="seconds --wait waits (default 30)"
    )
    status.set_defaults(run=show_status)


def _time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone().strftime("%H:%M:%S.%f")[:-3]


def _detail(member: MemberStatus) -> str:
    parts = []
    if member.state is DeliveryState.IN_PROGRESS:
        parts.append(f"attempt {member.attempts}")
    elif member.attempts:
        parts.append(f"attempts {member.attempts}")
    if member.since is not None:
        parts.append(f"since {_time(member.since)}")
    if member.next_attempt_at is not None:
        parts.append(f"next attempt {_time(member.next_attempt_at)}")
    if member.worker is not None:
        parts.append(f"worker {member.worker}")
    if member.dead_letter_seq is not None:
        parts.append(f"dead letter #{member.dead_letter_seq}")
    if member.error is not None:
        parts.append(f"error: {member.error}")
    return ", ".join(parts)


def print_status(status: DeliveryStatus, out: TextIO = sys.stdout) -> None:
    """The status as text: the message, then one line per member."""
    where = status.channel if status.channel is not None else f"DM to {status.recipient}"
    kept = "" if status.retained else ", trimmed by retention"
    print(
        f"{status.message_id}  {where} #{status.seq} from {status.sender}, "
        f"stored {_time(status.stored_at)}{kept}",
        file=out,
    )
    width = max((len(name) for name in status.members), default=0)
    for name, member in status.members.items():
        print(f"  {name:<{width}}  {member.state.value:<13}  {_detail(member)}".rstrip(), file=out)


def exit_code(status: DeliveryStatus, state: DeliveryState | str) -> int:
    """0 every member is in ``state``, 4 some dead-lettered or refused it, 3 not yet."""
    if status.reached(state):
        return EXIT_REACHED
    return EXIT_FAILED if status.failed else EXIT_NOT_YET


def show_status(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus status MESSAGE_ID [--wait STATE] [--timeout S]``."""
    state = args.wait or DeliveryState.HANDLED
    with connected(settings) as bus:
        if args.wait is None:
            status = bus.status(args.message_id)
        else:
            try:
                status = bus.wait_for(args.message_id, state, timeout=args.timeout)
            except BusTimeout as exc:
                status = exc.context["status"]
    if args.json:
        emit_json(status)
    else:
        print_status(status)
    return exit_code(status, state)

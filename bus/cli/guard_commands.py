"""``bus budgets`` (each agent's spend in the current window, and its limits) and ``bus circuit
reset SENDER TARGET`` (close a circuit the guards opened); ``bus agents`` shows open circuits.
See docs/safety.md."""

from __future__ import annotations

import argparse

from bus.cli.arguments import Parser
from bus.cli.commands import connected
from bus.cli.output import emit_json, table
from bus.publishing.limits import budget_lines
from bus.settings import BusSettings


def add_parser(sub: argparse._SubParsersAction[Parser], json_flag: argparse.ArgumentParser) -> None:
    """Add ``budgets`` and ``circuit reset`` to the ``bus`` parser."""
    budgets = sub.add_parser(
        "budgets",
        help="each agent's spend (tokens, cost) in the current budget window, and its limits",
        description="Each agent's spend in the current budget window (BUS_BUDGET_WINDOW "
        "seconds) against its limits: its own (Agent(limits=...)) or the bus's "
        "(BUS_BUDGET_TOKENS, BUS_BUDGET_COST; 0: none). Over a limit, its publishes are "
        "refused with BudgetExceeded until the window ends.",
        epilog="examples:\n  bus budgets\n  bus --json budgets",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[json_flag],  # type: ignore[list-item]  # any parser can be a parent
    )
    budgets.set_defaults(run=show_budgets)
    circuit = sub.add_parser(
        "circuit",
        help="close a (sender, target) circuit the guards opened",
        description="A sender that sends to one agent or channel faster than BUS_PAIR_RATE "
        "for longer than BUS_PAIR_BURST covers has that pair's circuit opened (CircuitOpen) "
        "for BUS_PAIR_COOLDOWN seconds; 'bus circuit reset' closes it at once.",
        epilog="examples:\n  bus circuit reset flooder victim\n  bus circuit reset bot '#general'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[json_flag],  # type: ignore[list-item]
    )
    actions = circuit.add_subparsers(dest="circuit_command", metavar="ACTION", parser_class=Parser)
    actions.required = True
    reset = actions.add_parser(
        "reset",
        help="close the circuit of SENDER to TARGET (an agent or a #channel)",
        description="Close the circuit of SENDER to TARGET at once, its bucket full again.",
        epilog="examples:\n  bus circuit reset flooder victim\n  bus circuit reset bot '#general'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[json_flag],  # type: ignore[list-item]
    )
    reset.add_argument("sender", metavar="SENDER")
    reset.add_argument("target", metavar="TARGET")
    reset.set_defaults(run=reset_circuit)


def show_budgets(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus budgets``."""
    window = int(settings.budget_window * 1000)
    with connected(settings) as bus:
        spend = bus.store.guards.spending(window)
        limits = bus.store.guards.limits()
    rows: list[list[object]] = []
    for line in budget_lines(settings, spend, limits):
        if args.json:
            keys = ("agent", "tokens", "token_limit", "cost", "cost_limit")
            emit_json(
                {**dict(zip(keys, line, strict=True)), "window_seconds": settings.budget_window}
            )
        rows.append(list(line))
    if not args.json:
        table(["AGENT", "TOKENS", "TOKEN LIMIT", "COST", "COST LIMIT"], rows)
    return 0


def reset_circuit(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus circuit reset SENDER TARGET``."""
    with connected(settings) as bus:
        was_open = bus.store.guards.reset_circuit(args.sender, args.target)
    if args.json:
        emit_json({"sender": args.sender, "target": args.target, "closed": was_open})
    elif was_open:
        print(f"closed the circuit of {args.sender} -> {args.target}")
    else:
        print(f"the circuit of {args.sender} -> {args.target} was not open")
    return 0

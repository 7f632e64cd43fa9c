"""``bus agents``: list the registered agents, or remove one (``bus agents remove NAME``)."""

from __future__ import annotations

import argparse

from bus.channels import Stream
from bus.cli.arguments import Parser
from bus.cli.commands import connected
from bus.cli.output import emit_json, show_agents
from bus.settings import BusSettings


def add_parser(sub: argparse._SubParsersAction[Parser], json_flag: argparse.ArgumentParser) -> None:
    """Add ``agents`` and its ``remove`` action to the ``bus`` parser."""
    agents = sub.add_parser(
        "agents",
        help="list registered agents and the channels each receives; remove one",
        description="List registered agents, the channels each receives and its lag on each "
        "(when behind); 'bus agents remove NAME' unregisters one.",
        epilog="examples:\n  bus agents\n  bus --json agents\n  bus agents remove scratch-agent",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[json_flag],  # type: ignore[list-item]  # any parser can be a parent
    )
    agents.set_defaults(run=list_agents)
    actions = agents.add_subparsers(dest="agents_command", metavar="ACTION", parser_class=Parser)
    remove = actions.add_parser(
        "remove",
        help="unregister an agent: its queue deleted, its subscriptions and positions gone",
        description="Unregister an agent: its queue is deleted with what it held, its "
        "subscriptions (broadcast ones too) end, its positions, leases and failure counts are "
        "forgotten; a direct message to it is then refused. A worker that hosts it registers "
        "it again when it restarts: take it out of BUS_AGENT_MODULES too.",
        epilog="examples:\n  bus agents remove scratch-agent",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[json_flag],  # type: ignore[list-item]
    )
    remove.add_argument("agent", metavar="NAME", help="a registered agent")
    remove.set_defaults(run=remove_agent)


def list_agents(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus agents``: each agent, the channels it receives, the workers that host it and when
    they were last seen (their liveness records), and how far behind it is on each stream
    (messages stored that it has not read yet), and the guards' circuits it has open."""
    with connected(settings) as bus:
        found = {name: bus.subscriptions(name) for name in bus.agents()}
        lags = {
            name: {
                Stream(lag.stream).channel or "DM": lag.head - lag.position
                for lag in bus.store.leases.backlog(name)
            }
            for name in found
        }
        workers = bus.store.liveness.workers()
        circuits: dict[str, list[str]] = {}
        for circuit in bus.store.guards.circuits():
            circuits.setdefault(circuit.sender, []).append(f"-> {circuit.target} {circuit.state}")
    hosts = {name: [w for w in workers if name in w.agents] for name in found}
    show_agents(found, args.json, lags=lags, hosts=hosts, circuits=circuits)
    return 0


def remove_agent(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus agents remove NAME``."""
    with connected(settings) as bus:
        left = bus.unregister_agent(args.agent)
    if args.json:
        emit_json({"agent": args.agent, "removed": True, "left": left})
    else:
        print(
            f"removed agent {args.agent}: its queue is deleted; it left "
            f"{', '.join(left) or 'no channel'}"
        )
    return 0

"""``bus auth setup``: a fleet's credentials in one idempotent step (docs/security.md,
"Provisioning a deployment"); what compose's ``auth-setup`` service and ``make fleet`` run."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from bus.cli.arguments import Parser
from bus.settings import BusSettings

SETUP_HELP = "make or complete a deployment's credentials (idempotent; compose and make fleet)"
SETUP_EXAMPLES = (
    "  bus auth setup --dir .bus-credentials\n"
    "  bus auth setup --dir /credentials --root-key /root/root.json --agents alice,bob"
)


def setup(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus auth setup --dir DIR``."""
    from bus.auth.provision import provision
    from bus.cli.auth_support import auth_store, print_result

    if args.agents is not None:
        agents = [name for name in args.agents.split(",") if name]
    else:
        from bus.worker import load_agents

        agents = sorted(load_agents(settings.agent_modules, settings.agents))
    with auth_store(settings) as store:
        done = provision(
            store,
            args.dir,
            root_key=args.root_key,
            operator=args.operator,
            worker=args.worker,
            agents=agents,
            flower_basic_auth=os.environ.get("FLOWER_BASIC_AUTH") or None,
        )
    print_result(
        args,
        {
            "directory": str(done.directory),
            "env_file": str(done.env_file),
            "issued": done.issued,
            "credentials": {name: str(path) for name, path in done.credentials.items()},
        },
        f"credentials in {done.directory} (issued now: {', '.join(done.issued) or 'none'}); "
        f"variables in {done.env_file}",
    )
    return 0


def add_setup_parser(p: Parser, root_key: Callable[..., Any]) -> None:
    """The arguments of ``bus auth setup``."""
    p.add_argument("--dir", required=True, metavar="DIR", help="where credentials are written")
    p.add_argument("--operator", default="cli", metavar="NAME", help="operator (default: cli)")
    p.add_argument("--worker", default="worker", metavar="NAME", help="workers' identity")
    p.add_argument(
        "--agents", metavar="A,B", help="hosted agents (default: those of BUS_AGENT_MODULES)"
    )
    root_key(p, required=False)
    p.set_defaults(run=setup)

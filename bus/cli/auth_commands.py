"""``bus auth ...``: the operator's commands for identity and access (docs/security.md).

Every command that changes trust signs with the root key (``--root-key FILE``); ``show`` needs
only the root public key (``BUS_ROOT_PUBLIC_KEY``, or the public half of ``--root-key``). They
talk to the store alone, never to the broker.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bus.auth import admin
from bus.auth.certificates import Role
from bus.auth.keypairs import Ed25519PublicKey, RootKey, load_root_public_key
from bus.cli.arguments import Parser
from bus.cli.auth_setup import SETUP_EXAMPLES, SETUP_HELP, add_setup_parser
from bus.cli.auth_support import auth_store, print_result
from bus.cli.output import table
from bus.errors import ConfigurationError, InvalidArgument
from bus.settings import BusSettings

HELP = "identity and access: the root key, credentials, permissions (docs/security.md)"


def _root(args: argparse.Namespace) -> RootKey:
    return RootKey.load(args.root_key)


def _root_public(args: argparse.Namespace, settings: BusSettings) -> Ed25519PublicKey:
    if getattr(args, "root_key", None):
        return _root(args).public_key
    if settings.root_public_key:
        return load_root_public_key(settings.root_public_key)
    raise ConfigurationError(
        "set BUS_ROOT_PUBLIC_KEY or pass --root-key", setting="root_public_key"
    )


def init_root(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus auth init-root --root-key FILE``."""
    try:
        root = admin.create_root(args.root_key)
    except FileExistsError:
        raise ConfigurationError(
            f"{args.root_key} exists; a root key is never overwritten", path=args.root_key
        ) from None
    print_result(
        args,
        {"root_key": args.root_key, "root_public_key": root.public_key_b64},
        f"root key written to {args.root_key} (keep it off the agents' machines)\n"
        f"export BUS_ROOT_PUBLIC_KEY={root.public_key_b64}",
    )
    return 0


def add_identity(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus auth add-agent NAME --root-key FILE --out FILE [--operator]``."""
    role: Role = "operator" if args.operator else "agent"
    with auth_store(settings) as store:
        try:
            credentials = admin.issue_credentials(
                _root(args), store, args.name, role=role, path=args.out
            )
        except FileExistsError:
            raise ConfigurationError(f"{args.out} exists", path=args.out) from None
    identity = credentials.identity
    print_result(
        args,
        {"name": identity.name, "role": role, "key_id": identity.key_id, "credentials": args.out},
        f"{role} {identity.name}: key {identity.key_id}, credentials in {args.out} "
        f"(BUS_CREDENTIALS={args.out})",
    )
    return 0


def revoke(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus auth revoke NAME`` or ``bus auth revoke --key-id KEY_ID``."""
    if (args.name is None) == (args.key_id is None):
        raise InvalidArgument("give exactly one of NAME and --key-id")
    with auth_store(settings) as store:
        if args.key_id is not None:
            admin.revoke_key(_root(args), store, args.key_id)
            key_ids = [args.key_id]
        else:
            key_ids = admin.revoke_identity(_root(args), store, args.name)
    print_result(args, {"revoked": key_ids}, "revoked " + ", ".join(key_ids))
    return 0


def change(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus auth grant|deny PRINCIPAL ACTION (CHANNEL | --default)``."""
    if (args.channel is None) == (not args.default):
        raise InvalidArgument("give exactly one of CHANNEL and --default")
    edit = admin.grant if args.auth_command == "grant" else admin.deny
    with auth_store(settings) as store:
        policy = edit(_root(args), store, args.principal, args.action, args.channel)
    where = "channels no rule names" if args.channel is None else args.channel
    verb = "may" if args.auth_command == "grant" else "may not"
    print_result(
        args,
        {
            "version": policy.version,
            "principal": args.principal,
            "action": args.action,
            "channel": args.channel,
            "allowed": args.auth_command == "grant",
        },
        f"policy version {policy.version}: {args.principal} {verb} {args.action} on {where}",
    )
    return 0


def show(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus auth show``."""
    with auth_store(settings) as store:
        shown = admin.show(store, _root_public(args, settings))
    if args.json:
        print(json.dumps(shown, ensure_ascii=False), flush=True)
        return 0
    policy = shown["policy"]
    if policy is None:
        print("no policy stored yet (add an identity first)")
    else:
        print(f"policy version {policy['version']}, issued {policy['issued_at']}")
        rules = [("(default)", policy["default"]), *sorted(policy["channels"].items())]
        table(
            ["CHANNEL", "PUBLISH", "SUBSCRIBE"],
            [
                (
                    name,
                    ",".join(rule.get("publish", ["(default)"])) or "(nobody)",
                    ",".join(rule.get("subscribe", ["(default)"])) or "(nobody)",
                )
                for name, rule in rules
            ],
        )
        print(f"direct messages may be sent by: {','.join(policy['direct_send']) or '(nobody)'}")
    print()
    table(
        ["NAME", "ROLE", "KEY ID", "ISSUED", "REVOKED"],
        [
            (i["name"], i["role"], i["key_id"], i["issued_at"], "yes" if i["revoked"] else "")
            for i in shown["identities"]
        ],
    )
    return 0


def add_parser(sub: argparse._SubParsersAction[Parser], json_flag: argparse.ArgumentParser) -> None:
    """Add ``bus auth`` and its subcommands to the ``bus`` parser."""

    def command(parent: Any, name: str, help: str, examples: str) -> Parser:
        parser: Parser = parent.add_parser(
            name,
            help=help,
            description=help[0].upper() + help[1:] + ".",
            epilog="examples:\n" + examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[json_flag],
        )
        return parser

    def root_key(parser: Parser, required: bool = True) -> None:
        parser.add_argument(
            "--root-key", metavar="FILE", required=required, help="the root key file"
        )

    group = command(
        sub,
        "auth",
        HELP,
        "  bus auth init-root --root-key root.json\n"
        "  bus auth add-agent alice --root-key root.json --out alice.json",
    )
    actions = group.add_subparsers(
        dest="auth_command", metavar="ACTION", parser_class=Parser, required=True
    )
    p = command(
        actions,
        "init-root",
        "create the operator root key pair",
        "  bus auth init-root --root-key /secure/root.json",
    )
    root_key(p)
    p.set_defaults(run=init_root)

    p = command(
        actions,
        "add-agent",
        "issue credentials for an agent (or an operator)",
        "  bus auth add-agent alice --root-key root.json --out alice.json\n"
        "  bus auth add-agent ops --operator --root-key root.json --out ops.json",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--out", metavar="FILE", required=True, help="credentials file to write")
    p.add_argument("--operator", action="store_true", help="the operator role")
    root_key(p)
    p.set_defaults(run=add_identity)

    p = command(
        actions,
        "revoke",
        "revoke every key of an identity, or one key",
        "  bus auth revoke alice --root-key root.json\n"
        "  bus auth revoke --key-id k3f... --root-key root.json",
    )
    p.add_argument("name", metavar="NAME", nargs="?")
    p.add_argument("--key-id", metavar="KEY_ID")
    root_key(p)
    p.set_defaults(run=revoke)

    for name, help in (
        ("grant", "let a principal publish or subscribe on a channel"),
        ("deny", "stop a principal publishing or subscribing on a channel"),
    ):
        p = command(
            actions,
            name,
            help,
            f"  bus auth {name} ceo publish '#all-hands' --root-key root.json\n"
            f"  bus auth {name} 'role:operator' subscribe --default --root-key root.json",
        )
        p.add_argument(
            "principal",
            metavar="PRINCIPAL",
            help="a name, a name pattern (team-*), role:agent, role:operator or '*'",
        )
        p.add_argument("action", choices=["publish", "subscribe"])
        p.add_argument(
            "channel", metavar="CHANNEL", nargs="?", help="a channel name or pattern ('#team-*')"
        )
        p.add_argument("--default", action="store_true", help="change the default rule")
        root_key(p)
        p.set_defaults(run=change)

    add_setup_parser(command(actions, "setup", SETUP_HELP, SETUP_EXAMPLES), root_key)

    p = command(
        actions,
        "show",
        "show the policy and the identities",
        "  bus auth show\n  bus --json auth show | jq .policy.revoked",
    )
    root_key(p, required=False)
    p.set_defaults(run=show)

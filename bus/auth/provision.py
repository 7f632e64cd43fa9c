"""Provisioning a deployment's credentials in one idempotent step (``bus auth setup``).

What docker-compose's one-shot ``auth-setup`` service and ``make fleet`` run before the fleet
starts: a root key (made once), the root's public half as a file, credentials for an operator
(the CLI and the demo producer), for the workers' own identity, and one file per hosted agent,
the grants the demo needs, and an env file with the variables every process reads. Run again,
it keeps every file and only puts the certificates back into the store (a store that was
wiped), so restarting the fleet never changes anyone's keys.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bus.auth import admin
from bus.auth.certificates import Credentials, Role
from bus.auth.keypairs import RootKey
from bus.auth.policy import Action
from bus.auth.storage import AuthStore

#: ``(principal, action, channel)`` the demo needs: the CEO speaks on ``#all-hands``.
DEMO_GRANTS: tuple[tuple[str, Action, str], ...] = (("ceo", "publish", "#all-hands"),)


@dataclass
class Provisioned:
    """What :func:`provision` left in the directory."""

    directory: Path
    root_public_key: Path
    env_file: Path
    #: Identity name -> its credentials file.
    credentials: dict[str, Path] = field(default_factory=dict)
    #: The names issued by this run (the others were there already).
    issued: list[str] = field(default_factory=list)


def _credentials(
    root: RootKey, store: AuthStore, name: str, role: Role, path: Path, issued: list[str]
) -> Path:
    if path.exists():
        existing = Credentials.load(path)
        existing.certificate.check(root.public_key)  # a file from another root is an error
        store.put_certificate(existing.identity.key_id, existing.certificate.to_json())
    else:
        admin.issue_credentials(root, store, name, role=role, path=path)
        issued.append(name)
    return path


def provision(
    store: AuthStore,
    directory: str | Path,
    *,
    root_key: str | Path | None = None,
    operator: str = "cli",
    worker: str = "worker",
    agents: Iterable[str] = (),
    grants: Iterable[tuple[str, Action, str]] = DEMO_GRANTS,
    flower_basic_auth: str | None = None,
) -> Provisioned:
    """Make (or complete) a deployment's credentials in ``directory``.

    Args:
        store: Where certificates and the policy go.
        directory: Gets ``root.pub``, ``<operator>.json``, ``<worker>.json``,
            ``agents/<name>.json`` and ``auth.env``.
        root_key: The root key file (made if missing); ``<directory>/root.json`` by default,
            which suits a developer's machine only (keep it off the agents' machines).
        operator: The operator identity (``BUS_CREDENTIALS`` of the CLI and the demo).
        worker: The workers' own identity: an agent, not an operator, so a worker can read only
            what its hosted agents may.
        agents: The hosted agents (``BUS_CREDENTIALS_DIR``).
        grants: Permissions to grant, each once.
        flower_basic_auth: ``user:password`` for Flower (``FLOWER_BASIC_AUTH``); by default
            the one a previous run wrote, else ``flower:`` and a random password.

    Raises:
        ConfigurationError: a credentials or key file cannot be used.
        AuthenticationFailed: a credentials file was issued by another root.
    """
    folder = Path(directory)
    (folder / "agents").mkdir(parents=True, exist_ok=True)
    root_path = Path(root_key) if root_key is not None else folder / "root.json"
    root = RootKey.load(root_path) if root_path.exists() else admin.create_root(root_path)
    public = folder / "root.pub"
    public.write_text(root.public_key_b64 + "\n")
    done = Provisioned(folder, public, folder / "auth.env")
    wanted: list[tuple[str, Role, Path]] = [
        (operator, "operator", folder / f"{operator}.json"),
        (worker, "agent", folder / f"{worker}.json"),
        *((name, "agent", folder / "agents" / f"{name}.json") for name in agents),
    ]
    for name, role, path in wanted:
        done.credentials[name] = _credentials(root, store, name, role, path, done.issued)
    admin.ensure_policy(store, root)
    for principal, action, channel in grants:
        policy = admin.current_policy(store, root.public_key)
        if policy is None or principal not in policy.principals(action, channel):
            admin.grant(root, store, principal, action, channel)
    flower = flower_basic_auth or _previous(done.env_file, "FLOWER_BASIC_AUTH")
    lines = (
        "BUS_AUTH=required",
        f"BUS_ROOT_PUBLIC_KEY={public.resolve()}",
        f"BUS_CREDENTIALS={done.credentials[operator].resolve()}",
        f"BUS_CREDENTIALS_DIR={(folder / 'agents').resolve()}",
        f"FLOWER_BASIC_AUTH={flower or 'flower:' + secrets.token_urlsafe(18)}",
    )
    # It holds Flower's password: readable by its owner only, like the credentials.
    descriptor = os.open(done.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as env:
        env.write("\n".join(lines) + "\n")
    return done


def _previous(env_file: Path, name: str) -> str | None:
    """The value of ``name`` in an env file an earlier run wrote."""
    if not env_file.exists():
        return None
    for line in env_file.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == name and value:
            return value
    return None

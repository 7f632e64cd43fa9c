"""``bus auth setup`` (:func:`bus.auth.provision.provision`): a fleet's credentials in one
idempotent step."""

from __future__ import annotations

import stat
from pathlib import Path

from bus.auth import admin
from bus.auth.certificates import Credentials
from bus.auth.keypairs import load_root_public_key
from bus.auth.provision import provision
from bus.auth.storage import AuthStore, MemoryAuthStore


def _env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_setup_makes_everything_a_fleet_needs_and_running_it_again_keeps_every_key(
    auth_store: AuthStore, tmp_path: Path
) -> None:
    first = provision(auth_store, tmp_path, agents=["ceo", "alice"])
    assert sorted(first.issued) == ["alice", "ceo", "cli", "worker"]
    env = _env(first.env_file)
    assert env["BUS_AUTH"] == "required"
    assert Credentials.load(env["BUS_CREDENTIALS"]).identity.role == "operator"
    assert sorted(p.name for p in Path(env["BUS_CREDENTIALS_DIR"]).iterdir()) == [
        "alice.json",
        "ceo.json",
    ]
    assert Credentials.load(tmp_path / "worker.json").identity.role == "agent"
    assert stat.S_IMODE(first.env_file.stat().st_mode) == 0o600
    root_public = load_root_public_key(env["BUS_ROOT_PUBLIC_KEY"])
    policy = admin.current_policy(auth_store, root_public)
    assert policy is not None
    assert "ceo" in policy.principals("publish", "#all-hands")

    # Against a wiped store (a fresh Redis), with the files kept: nothing new is issued, the
    # certificates are back, Flower's password and the policy's grant stay.
    fresh = MemoryAuthStore()
    again = provision(fresh, tmp_path, agents=["ceo", "alice"])
    assert again.issued == []
    assert _env(again.env_file)["FLOWER_BASIC_AUTH"] == env["FLOWER_BASIC_AUTH"]
    ceo = Credentials.load(tmp_path / "agents" / "ceo.json")
    assert fresh.get_certificate(ceo.identity.key_id) is not None
    restored = admin.current_policy(fresh, root_public)
    assert restored is not None
    assert "ceo" in restored.principals("publish", "#all-hands")

"""``bus auth ...``, run for real in subprocesses against Redis."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bus.auth.certificates import Credentials
from bus.auth.keypairs import RootKey
from bus.auth.storage import RedisAuthStore
from bus.auth.trust import Trust
from tests.brokers import REDIS_URL, require, settings_for
from tests.helpers.cli_support import BUS, ROOT, assert_one_line_error, cli_environment, run_bus

pytestmark = pytest.mark.slow


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """The environment of a bus on Redis in a fresh namespace; its auth keys deleted after."""
    require("redis")
    settings = settings_for("redis")
    yield cli_environment(settings)
    RedisAuthStore(REDIS_URL, settings.namespace).destroy()


def ok(env: dict[str, str], *args: str) -> str:
    result = run_bus(env, *args)
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


@pytest.mark.redis
def test_an_operator_sets_up_identities_and_permissions_from_the_shell(
    env: dict[str, str], tmp_path: Path
) -> None:
    root_file, alice_file = str(tmp_path / "root.json"), str(tmp_path / "alice.json")
    created = json.loads(ok(env, "--json", "auth", "init-root", "--root-key", root_file))
    assert stat.S_IMODE(os.stat(root_file).st_mode) == 0o600
    assert created["root_public_key"] == RootKey.load(root_file).public_key_b64

    added = json.loads(
        ok(
            env,
            "auth",
            "add-agent",
            "alice",
            "--root-key",
            root_file,
            "--out",
            alice_file,
            "--json",
        )
    )
    alice = Credentials.load(alice_file)
    assert added == {
        "name": "alice",
        "role": "agent",
        "key_id": alice.identity.key_id,
        "credentials": alice_file,
    }
    ok(
        env,
        "auth",
        "add-agent",
        "ops",
        "--operator",
        "--root-key",
        root_file,
        "--out",
        str(tmp_path / "ops.json"),
    )
    text = ok(env, "auth", "grant", "alice", "publish", "#all-hands", "--root-key", root_file)
    assert text.strip() == "policy version 2: alice may publish on #all-hands"
    ok(env, "auth", "deny", "alice", "subscribe", "--default", "--root-key", root_file)
    assert "revoked " + alice.identity.key_id in ok(
        env, "auth", "revoke", "alice", "--root-key", root_file
    )

    # What the CLI stored is what a running process trusts.
    trust = Trust(created["root_public_key"], RedisAuthStore(REDIS_URL, env["BUS_NAMESPACE"]))
    policy = trust.policy
    assert policy.version == 4
    assert policy.channels["#all-hands"].publish == ("role:operator", "alice")
    assert policy.default.subscribe == ("*", "!alice")
    assert policy.is_revoked(alice.identity.key_id)

    shown = json.loads(
        ok({**env, "BUS_ROOT_PUBLIC_KEY": created["root_public_key"]}, "--json", "auth", "show")
    )
    assert shown["policy"]["version"] == 4
    assert [(i["name"], i["role"], i["revoked"]) for i in shown["identities"]] == [
        ("alice", "agent", True),
        ("ops", "operator", False),
    ]
    table = ok(env, "auth", "show", "--root-key", root_file)
    assert "#all-hands  role:operator,alice  (default)" in table
    assert "ops    operator" in table


@pytest.mark.redis
def test_auth_commands_fail_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    root_file = str(tmp_path / "root.json")
    ok(env, "auth", "init-root", "--root-key", root_file)
    assert_one_line_error(
        run_bus(env, "auth", "init-root", "--root-key", root_file), 2, "never overwritten"
    )
    assert_one_line_error(
        run_bus(env, "auth", "grant", "bob", "publish", "--root-key", root_file),
        2,
        "exactly one of CHANNEL and --default",
    )
    assert_one_line_error(
        run_bus(env, "auth", "revoke", "ghost", "--root-key", root_file), 2, "'ghost'"
    )
    assert_one_line_error(run_bus(env, "auth", "show"), 2, "BUS_ROOT_PUBLIC_KEY")
    os.chmod(root_file, 0o644)
    assert_one_line_error(
        run_bus(env, "auth", "grant", "bob", "publish", "#x", "--root-key", root_file),
        2,
        "readable by others",
    )


@pytest.mark.parametrize("command", ["init-root", "add-agent", "revoke", "grant", "deny", "show"])
def test_every_auth_command_has_help_with_examples(command: str) -> None:
    result = subprocess.run(
        [*BUS, "auth", command, "--help"], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert f"usage: bus auth {command}" in result.stdout
    assert "examples:\n  bus auth " + command in result.stdout

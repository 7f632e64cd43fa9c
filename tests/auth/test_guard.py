"""The signed guard on its own: whose key signs, who acts for whom, what admit refuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bus.access.choice import open_guard
from bus.access.guard import Action
from bus.auth import admin
from bus.auth.certificates import Credentials
from bus.auth.keypairs import RootKey
from bus.auth.quota import MemoryBuckets, PublishQuota
from bus.auth.signed_guard import SignedGuard, load_credentials
from bus.auth.storage import AuthStore
from bus.auth.trust import Trust
from bus.channels import Stream
from bus.errors import AuthenticationFailed, ConfigurationError, PermissionDenied
from bus.message import Message
from bus.settings import BusSettings
from tests.auth.conftest import Issue

ENGINEERING = Stream.of_channel("#engineering")


def guard(root: RootKey, store: AuthStore, *held: Credentials) -> SignedGuard:
    trust = Trust(root.public_key_b64, store, refresh_seconds=0.01)
    return SignedGuard(trust, held, PublishQuota(MemoryBuckets(), None, 1))


def test_auth_off_is_the_open_guard_and_imports_nothing_of_auth() -> None:
    assert type(open_guard(BusSettings(auth="off"))).__name__ == "OpenGuard"
    code = (
        "import sys; from bus import Bus; from bus.settings.schema import BusSettings; "
        "Bus(BusSettings(namespace='noauth')).start().stop(); "
        "print(sorted(m for m in sys.modules if m.startswith('bus.auth')))"
    )
    root = Path(__file__).resolve().parents[2]
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60
    )
    assert (ran.returncode, ran.stdout.strip()) == (0, "[]"), ran.stderr


def test_each_message_is_signed_with_its_senders_own_key(
    root: RootKey, auth_store: AuthStore, issue: Issue
) -> None:
    host, rec_a = issue("host"), issue("rec-a")
    signed = guard(root, auth_store, host, rec_a).outgoing(
        Message(channel="#engineering", sender="rec-a", content="hi")
    )
    assert signed.signature is not None
    assert signed.signature.key_id == rec_a.identity.key_id


def test_a_sender_whose_key_is_not_held_is_refused(
    root: RootKey, auth_store: AuthStore, issue: Issue
) -> None:
    with pytest.raises(PermissionDenied) as refused:
        guard(root, auth_store, issue("host")).outgoing(
            Message(recipient="bob", sender="ceo", content="raise")
        )
    assert refused.value.context["identity"] == "host"
    assert refused.value.context["recipient"] == "bob"


def test_an_agent_acts_only_for_itself_and_an_operator_for_anyone(
    root: RootKey, auth_store: AuthStore, issue: Issue
) -> None:
    agent, operator = (
        guard(root, auth_store, issue("alice")),
        guard(root, auth_store, issue("ops", "operator")),
    )
    agent.check(Action.SUBSCRIBE, ENGINEERING, agent="alice")
    with pytest.raises(PermissionDenied):
        agent.check(Action.SUBSCRIBE, ENGINEERING, agent="bob")
    with pytest.raises(PermissionDenied):
        agent.check(Action.SUBSCRIBE, Stream.of_inbox("bob"))
    operator.check(Action.SUBSCRIBE, ENGINEERING, agent="bob")
    operator.check(Action.SUBSCRIBE, Stream.of_inbox("bob"), agent="bob")


def test_a_message_checked_before_is_refused_once_its_key_is_revoked(
    root: RootKey, auth_store: AuthStore, issue: Issue
) -> None:
    alice = issue("alice")
    reader = guard(root, auth_store, issue("bob"))
    message = guard(root, auth_store, alice).outgoing(
        Message(channel="#engineering", sender="alice", content="hi")
    )
    reader.admit(message, ENGINEERING, agent="bob")  # its signature is now remembered
    admin.revoke_identity(root, auth_store, "alice")
    reader.trust.refresh()
    with pytest.raises(AuthenticationFailed) as refused:
        reader.admit(message, ENGINEERING, agent="bob")
    assert refused.value.context["reason"] == "revoked"
    tampered = message.model_copy(update={"content": "changed"})
    with pytest.raises(AuthenticationFailed):
        reader.admit(tampered, ENGINEERING, agent="bob")


def test_admit_refuses_a_genuine_message_of_a_stream_the_reader_may_not_read(
    root: RootKey, auth_store: AuthStore, issue: Issue
) -> None:
    alice = issue("alice")
    admin.deny(root, auth_store, "bob", "subscribe", "#engineering")
    message = guard(root, auth_store, alice).outgoing(
        Message(channel="#engineering", sender="alice", content="hi")
    )
    with pytest.raises(AuthenticationFailed) as refused:
        guard(root, auth_store, issue("bob")).admit(message, ENGINEERING, agent="bob")
    assert refused.value.context["reason"] == "not_permitted"


def test_credentials_come_from_the_file_and_the_directory(
    root: RootKey, auth_store: AuthStore, tmp_path: Path
) -> None:
    (tmp_path / "agents").mkdir()
    admin.issue_credentials(root, auth_store, "host", path=tmp_path / "host.json")
    for name in ("rec-a", "rec-b"):
        admin.issue_credentials(root, auth_store, name, path=tmp_path / "agents" / f"{name}.json")
    settings = BusSettings(
        auth="required",
        credentials=str(tmp_path / "host.json"),
        credentials_dir=str(tmp_path / "agents"),
    )
    assert [c.identity.name for c in load_credentials(settings)] == ["host", "rec-a", "rec-b"]
    with pytest.raises(ConfigurationError):
        load_credentials(BusSettings(auth="required"))
    other_root = RootKey.generate()
    with pytest.raises(ConfigurationError):  # credentials of another root
        guard(other_root, auth_store, *load_credentials(settings))

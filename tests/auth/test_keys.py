"""Keys, root key files, credentials files and BUS_ROOT_PUBLIC_KEY."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bus.auth.certificates import Credentials
from bus.auth.keypairs import RootKey, key_id_of, load_root_public_key, public_bytes
from bus.errors import ConfigurationError


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_root_key_file_is_written_0600_and_reads_back(tmp_path: Path) -> None:
    root = RootKey.generate()
    root.save(tmp_path / "root.json")
    assert mode(tmp_path / "root.json") == 0o600
    again = RootKey.load(tmp_path / "root.json")
    assert again.public_key_b64 == root.public_key_b64


def test_a_key_file_is_never_overwritten(tmp_path: Path) -> None:
    RootKey.generate().save(tmp_path / "root.json")
    with pytest.raises(FileExistsError):
        RootKey.generate().save(tmp_path / "root.json")


def test_credentials_are_written_0600_and_read_back(root: RootKey, tmp_path: Path) -> None:
    credentials = Credentials.issue(root, "alice", role="operator")
    credentials.save(tmp_path / "alice.json")
    assert mode(tmp_path / "alice.json") == 0o600
    loaded = Credentials.load(tmp_path / "alice.json")
    assert loaded.certificate == credentials.certificate
    assert loaded.identity.role == "operator"
    assert loaded.certificate.check(root.public_key) == credentials.identity


def test_a_credentials_file_others_can_read_is_refused(root: RootKey, tmp_path: Path) -> None:
    Credentials.issue(root, "alice").save(tmp_path / "alice.json")
    os.chmod(tmp_path / "alice.json", 0o644)
    with pytest.raises(ConfigurationError, match="readable by others") as caught:
        Credentials.load(tmp_path / "alice.json")
    assert caught.value.path == str(tmp_path / "alice.json")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"kind": "bus-root-key"}', "not a bus credentials file"),
        ('{"kind": "bus-credentials", "private_key": "AAAA"}', "32 bytes"),
    ],
)
def test_a_malformed_credentials_file_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    os.chmod(path, 0o600)
    with pytest.raises(ConfigurationError, match=problem):
        Credentials.load(path)


def test_a_private_key_must_match_its_certificate(root: RootKey) -> None:
    alice, bob = Credentials.issue(root, "alice"), Credentials.issue(root, "bob")
    with pytest.raises(ConfigurationError, match="does not belong"):
        Credentials(alice.private_key, bob.certificate)


def test_the_root_public_key_is_read_as_base64_a_key_file_or_a_root_file(tmp_path: Path) -> None:
    root = RootKey.generate()
    (tmp_path / "root.pub").write_text(root.public_key_b64 + "\n")
    root.save(tmp_path / "root.json")
    for value in (root.public_key_b64, str(tmp_path / "root.pub"), str(tmp_path / "root.json")):
        assert public_bytes(load_root_public_key(value)) == public_bytes(root.public_key)


@pytest.mark.parametrize("value", ["", "AAAA", "/no/such/file", "!!"])
def test_a_bad_root_public_key_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_root_public_key(value)
    assert caught.value.setting == "root_public_key"


def test_key_ids_are_derived_from_the_key() -> None:
    root = RootKey.generate()
    assert key_id_of(root.public_key) == key_id_of(load_root_public_key(root.public_key_b64))
    assert key_id_of(root.public_key) != key_id_of(RootKey.generate().public_key)
    assert len(key_id_of(root.public_key)) == 41

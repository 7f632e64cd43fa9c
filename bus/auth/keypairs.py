"""Ed25519 keys: generating, encoding, key ids, and the root public key from configuration.

All cryptography is :mod:`cryptography`'s; this module only encodes keys as base64 of their raw
32 bytes and derives key ids from them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from bus.errors import ConfigurationError

#: Bytes of a raw Ed25519 public or private key.
KEY_BYTES = 32
#: Bytes of SHA-256 of the public key that make up a key id (after the ``k``).
KEY_ID_BYTES = 20
#: Permission bits a secret file must not have: readable or writable by group or others.
_OPEN_BITS = 0o077


def b64encode(data: bytes) -> str:
    """Standard base64, as text."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict standard base64.

    Raises:
        ValueError: not valid base64.
    """
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"not base64: {exc}") from None


def public_bytes(key: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of a public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def private_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32 bytes of a private key."""
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """Read a public key from base64 of its raw bytes.

    Raises:
        ValueError: not base64 of 32 bytes.
    """
    raw = b64decode(text)
    if len(raw) != KEY_BYTES:
        raise ValueError(f"an Ed25519 public key is {KEY_BYTES} bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def private_key_from_b64(text: str) -> Ed25519PrivateKey:
    """Read a private key from base64 of its raw bytes.

    Raises:
        ValueError: not base64 of 32 bytes.
    """
    raw = b64decode(text)
    if len(raw) != KEY_BYTES:
        raise ValueError(f"an Ed25519 private key is {KEY_BYTES} bytes, not {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    """The key's id: ``k`` and the first 20 bytes of SHA-256 of its raw bytes, in hex.

    Derived, not chosen, so a certificate cannot claim the id of another key.
    """
    return "k" + hashlib.sha256(public_bytes(key)).digest()[:KEY_ID_BYTES].hex()


def canonical(domain: str, data: object) -> bytes:
    """The bytes a signature covers: ``domain``, a newline, then ``data`` as JSON with sorted
    keys and no whitespace, in UTF-8.

    The domain (``bus-message-v1``, ``bus-certificate-v1`` ...) keeps a signature over one kind
    of document from being valid as another kind.
    """
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{domain}\n{body}".encode()


def verifies(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is ``key``'s signature of ``data``."""
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def load_root_public_key(value: str) -> Ed25519PublicKey:
    """The root public key from configuration (``BUS_ROOT_PUBLIC_KEY``).

    Args:
        value: base64 of the key's 32 bytes, or the path of a file that holds that base64 (a
            root key file written by :func:`write_secret_json` is accepted too: its
            ``public_key`` is used).

    Raises:
        ConfigurationError: neither a readable file nor a valid key.
    """
    text = value.strip()
    try:
        try:
            return public_key_from_b64(text)
        except ValueError:
            path = Path(text)
            if not path.is_file():
                raise
        text = path.read_text().strip()
        if text.startswith("{"):
            text = str(json.loads(text).get("public_key", ""))
        return public_key_from_b64(text)
    except ValueError as exc:
        raise ConfigurationError(
            f"BUS_ROOT_PUBLIC_KEY is neither a file nor an Ed25519 public key: {exc}",
            setting="root_public_key",
        ) from None


def write_secret_json(path: str | os.PathLike[str], data: object) -> None:
    """Write ``data`` as JSON to a new file readable by its owner only (mode 0600).

    The file is created with that mode, never widened afterwards, so the secret is never
    readable by others even for an instant.

    Raises:
        FileExistsError: the file exists (a key is never overwritten by accident).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(data, file, indent=2, sort_keys=True)
        file.write("\n")


def read_secret_json(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read a JSON secret file, refusing one that group or others can read or write.

    Raises:
        ConfigurationError: the file is missing, too open, or not a JSON object.
    """
    try:
        mode = os.stat(path).st_mode
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}", path=str(path)) from None
    if mode & _OPEN_BITS:
        raise ConfigurationError(
            f"{path} is readable by others (mode {mode & 0o777:o}); chmod 600 it",
            path=str(path),
        )
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not JSON: {exc}", path=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} is not a JSON object", path=str(path))
    return data


class RootKey:
    """The operator root key pair, which signs certificates and the policy.

    Only the operator who administers the bus holds it; every other process needs just
    :attr:`public_key` (``BUS_ROOT_PUBLIC_KEY``).
    """

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        self.public_key = private_key.public_key()

    @classmethod
    def generate(cls) -> RootKey:
        """A new random root key pair."""
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_key_b64(self) -> str:
        """The public key as ``BUS_ROOT_PUBLIC_KEY`` takes it."""
        return b64encode(public_bytes(self.public_key))

    def sign(self, data: bytes) -> str:
        """The root's signature of ``data``, base64."""
        return b64encode(self.private_key.sign(data))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the key pair to a new file of mode 0600.

        Raises:
            FileExistsError: the file exists.
        """
        write_secret_json(
            path,
            {
                "kind": "bus-root-key",
                "private_key": b64encode(private_bytes(self.private_key)),
                "public_key": self.public_key_b64,
            },
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RootKey:
        """Read a key pair written by :meth:`save`.

        Raises:
            ConfigurationError: the file is missing, readable by others, or not a root key.
        """
        data = read_secret_json(path)
        try:
            if data.get("kind") != "bus-root-key":
                raise ValueError("not a bus root key file")
            return cls(private_key_from_b64(str(data["private_key"])))
        except (KeyError, ValueError) as exc:
            raise ConfigurationError(f"{path}: {exc}", path=str(path)) from None


__all__ = [
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "RootKey",
    "b64decode",
    "b64encode",
    "canonical",
    "key_id_of",
    "load_root_public_key",
    "private_bytes",
    "private_key_from_b64",
    "public_bytes",
    "public_key_from_b64",
    "read_secret_json",
    "verifies",
    "write_secret_json",
]

"""Identities, their root-signed certificates, and the credentials a process acts with."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    NonNegativeInt,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from bus.access.speaking import speaker
from bus.auth.keypairs import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    RootKey,
    b64decode,
    b64encode,
    canonical,
    key_id_of,
    private_bytes,
    private_key_from_b64,
    public_bytes,
    public_key_from_b64,
    read_secret_json,
    verifies,
    write_secret_json,
)
from bus.errors import AuthenticationFailed, ConfigurationError, PermissionDenied
from bus.message import FrozenModel
from bus.names import check_agent_name

#: Domain of a certificate's root signature.
CERTIFICATE_DOMAIN = "bus-certificate-v1"

Role = Literal["agent", "operator"]


class Identity(FrozenModel):
    """Who a key speaks for: an agent or an operator."""

    #: The agent (or operator) name messages signed by this key must carry as ``sender``.
    name: Annotated[str, AfterValidator(check_agent_name)]
    role: Role = "agent"
    #: Derived from :attr:`public_key` by :func:`~bus.auth.keypairs.key_id_of`.
    key_id: str
    #: Base64 of the raw Ed25519 public key.
    public_key: str
    issued_at: AwareDatetime
    #: After this instant the certificate is no longer valid; ``None``: until revoked.
    not_after: AwareDatetime | None = None
    #: Distinguishes certificates issued for one name (reissued keys).
    serial: NonNegativeInt = 0

    _key: Ed25519PublicKey = PrivateAttr()

    @model_validator(mode="after")
    def _key_matches_id(self) -> Self:
        self._key = public_key_from_b64(self.public_key)
        if key_id_of(self._key) != self.key_id:
            raise ValueError("key_id is not the id of public_key")
        return self

    @property
    def key(self) -> Ed25519PublicKey:
        """The public key."""
        return self._key

    @property
    def is_operator(self) -> bool:
        """Whether this identity has the ``operator`` role."""
        return self.role == "operator"

    def expired(self, now: datetime | None = None) -> bool:
        """Whether :attr:`not_after` has passed."""
        return self.not_after is not None and (now or datetime.now(UTC)) > self.not_after


class Certificate(FrozenModel):
    """An identity and the root's signature of it."""

    identity: Identity
    #: The root's Ed25519 signature of :meth:`signed_bytes`, base64.
    signature: str

    @staticmethod
    def signed_bytes(identity: Identity) -> bytes:
        """What the root signs: the identity's canonical bytes."""
        return canonical(CERTIFICATE_DOMAIN, identity.model_dump(mode="json", exclude_none=True))

    @classmethod
    def issue(cls, root: RootKey, identity: Identity) -> Certificate:
        """Sign ``identity`` with the root key."""
        return cls(identity=identity, signature=root.sign(cls.signed_bytes(identity)))

    def check(self, root_public_key: Ed25519PublicKey) -> Identity:
        """The identity, if the root signed it.

        Raises:
            AuthenticationFailed: ``reason='bad_certificate'``: not the root's signature.
        """
        try:
            signature = b64decode(self.signature)
        except ValueError:
            signature = b""
        if not verifies(root_public_key, signature, self.signed_bytes(self.identity)):
            raise AuthenticationFailed(
                f"the certificate of {self.identity.name!r} ({self.identity.key_id}) is not "
                "signed by the root key",
                reason="bad_certificate",
                identity=self.identity.name,
                key_id=self.identity.key_id,
            )
        return self.identity

    def to_json(self) -> str:
        """The certificate as JSON, as the store keeps it."""
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_json(cls, data: str | bytes) -> Certificate:
        """Read a certificate back.

        Raises:
            AuthenticationFailed: ``reason='bad_certificate'``: not a well-formed certificate.
        """
        try:
            return cls.model_validate_json(data)
        except (ValidationError, ValueError) as exc:
            raise AuthenticationFailed(
                f"not a certificate: {exc}", reason="bad_certificate"
            ) from None


def new_identity(
    name: str,
    key: Ed25519PublicKey,
    *,
    role: Role = "agent",
    not_after: datetime | None = None,
    serial: int | None = None,
) -> Identity:
    """An identity for ``key``, issued now (``serial`` defaults to the time in microseconds)."""
    now = datetime.now(UTC)
    return Identity(
        name=name,
        role=role,
        key_id=key_id_of(key),
        public_key=b64encode(public_bytes(key)),
        issued_at=now,
        not_after=not_after,
        serial=int(now.timestamp() * 1_000_000) if serial is None else serial,
    )


#: Key id -> how many running workers of this process confine it (a process-wide fact, on
#: purpose: a hosted agent's key must not sign for others through a second ``Bus`` a handler
#: builds from the worker's environment, nor a ``Credentials.load`` of its file).
_confined: Counter[str] = Counter()
_confined_lock = threading.Lock()


def confine_keys(key_ids: Iterable[str], *, release: bool = False) -> None:
    """Confine (or, ``release``, stop confining) the keys ``key_ids`` in this process: see
    :attr:`Credentials.confined`. Each confine is undone by one release."""
    with _confined_lock:
        for key_id in key_ids:
            _confined[key_id] += -1 if release else 1
            if _confined[key_id] <= 0:
                del _confined[key_id]


class Credentials:
    """What a process acts with: one identity's private key and its certificate."""

    def __init__(self, private_key: Ed25519PrivateKey, certificate: Certificate) -> None:
        """Raises:
        ConfigurationError: the private key is not the certificate's key.
        """
        if key_id_of(private_key.public_key()) != certificate.identity.key_id:
            raise ConfigurationError(
                "the private key does not belong to the certificate of "
                f"{certificate.identity.name!r}",
                agent=certificate.identity.name,
            )
        self.private_key = private_key
        self.certificate = certificate
        #: The key id the private key was checked to belong to (what a signature made with it
        #: can be trusted to verify under without checking it; see bus.auth.signing).
        self.checked_key_id: str | None = certificate.identity.key_id

    @property
    def identity(self) -> Identity:
        """Who these credentials speak for."""
        return self.certificate.identity

    @property
    def confined(self) -> bool:
        """Whether this key is a hosted agent's in a worker of this process: it then signs only
        inside that agent's own bound-bus calls, however it was loaded (see
        :meth:`bus.access.guard.Guard.confine`)."""
        return _confined[self.identity.key_id] > 0

    @classmethod
    def issue(
        cls,
        root: RootKey,
        name: str,
        *,
        role: Role = "agent",
        not_after: datetime | None = None,
    ) -> Credentials:
        """A new key pair for ``name`` and its certificate, signed by ``root``."""
        private_key = Ed25519PrivateKey.generate()
        identity = new_identity(name, private_key.public_key(), role=role, not_after=not_after)
        return cls(private_key, Certificate.issue(root, identity))

    def sign(self, data: bytes) -> str:
        """This identity's signature of ``data``, base64.

        Raises:
            PermissionDenied: the key is :attr:`confined` and the current call is not one of
                its agent's bound-bus calls.
        """
        name = self.identity.name
        if self.confined and speaker() != name:
            raise PermissionDenied(
                f"the key of {name!r} signs only for {name!r}'s own handlers",
                identity=speaker(),
                action="publish",
                sender=name,
            )
        return b64encode(self.private_key.sign(data))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the credentials to a new file of mode 0600.

        Raises:
            FileExistsError: the file exists.
        """
        data: dict[str, Any] = {
            "kind": "bus-credentials",
            "private_key": b64encode(private_bytes(self.private_key)),
            "certificate": self.certificate.model_dump(mode="json", exclude_none=True),
        }
        write_secret_json(path, data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Credentials:
        """Read credentials written by :meth:`save` (``BUS_CREDENTIALS``).

        Raises:
            ConfigurationError: missing, readable by others, malformed, or the key and the
                certificate do not match.
        """
        data = read_secret_json(path)
        try:
            if data.get("kind") != "bus-credentials":
                raise ValueError("not a bus credentials file")
            key = private_key_from_b64(str(data["private_key"]))
            certificate = Certificate.model_validate(data["certificate"])
        except (KeyError, ValueError) as exc:
            raise ConfigurationError(f"{path}: {exc}", path=str(path)) from None
        return cls(key, certificate)

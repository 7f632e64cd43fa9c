"""Signed messages: a round trip verifies, and every tampering is refused with its reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bus.auth import admin
from bus.auth.certificates import Certificate, Credentials, Identity, new_identity
from bus.auth.keypairs import Ed25519PrivateKey, RootKey
from bus.auth.signing import sign, verify
from bus.auth.storage import AuthStore
from bus.auth.trust import Trust
from bus.channels import Stream
from bus.errors import AuthenticationFailed, BusError
from bus.kinds import Priority
from bus.message import Message, Metadata, Signature
from bus.store import Entry
from tests.auth.conftest import Issue

ENGINEERING = Stream.of_channel("#engineering")


def post(sender: str = "alice", **fields: object) -> Message:
    values: dict[str, object] = {"channel": "#engineering", "content": "API draft is up"}
    values.update(fields)
    return Message(sender=sender, **values)


def refused(message: Message, stream: Stream | str, trust: Trust) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as caught:
        verify(message, stream, trust)
    return caught.value


def test_a_signed_message_verifies_and_names_its_signer(alice: Credentials, trust: Trust) -> None:
    identity = verify(sign(post(), alice), ENGINEERING, trust)
    assert (identity.name, identity.key_id) == ("alice", alice.identity.key_id)


def test_a_signed_message_verifies_after_the_store_splices_in_its_seq(
    alice: Credentials, trust: Trust
) -> None:
    signed = sign(
        post(attachments=[{"name": "spec", "content": "é ✓"}], metadata={"cost": 0.1}), alice
    )
    stored = Entry("c:#engineering", 41, signed.model_dump_json(exclude={"seq"})).json
    read = Message.from_json(stored)
    assert read.seq == 41
    assert read.signature == signed.signature
    assert verify(read, "c:#engineering", trust).name == "alice"


def test_a_custom_type_and_extra_metadata_are_signed(alice: Credentials, trust: Trust) -> None:
    signed = sign(post(type="payment", metadata={"extra": {"to": "bob", "amount": 10}}), alice)
    read = Message.from_json(signed.to_json())
    assert verify(read, ENGINEERING, trust).name == "alice"
    for tampered in (
        read.model_copy(update={"type": "refund"}),
        read.model_copy(update={"metadata": Metadata(extra={"to": "bob", "amount": 10_000})}),
    ):
        assert refused(tampered, ENGINEERING, trust).reason == "bad_signature"


def test_a_signed_direct_message_verifies_only_in_the_recipients_inbox(
    alice: Credentials, trust: Trust
) -> None:
    signed = sign(Message(sender="alice", recipient="bob", content="got a minute?"), alice)
    assert verify(signed, Stream.of_inbox("bob"), trust).name == "alice"
    assert refused(signed, Stream.of_inbox("carol"), trust).reason == "wrong_stream"


def test_signing_for_another_sender_is_refused(alice: Credentials) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        sign(post(sender="ceo"), alice)
    assert caught.value.context == {"reason": "wrong_sender", "identity": "alice", "sender": "ceo"}


def test_the_errors_are_bus_errors_with_context(alice: Credentials, trust: Trust) -> None:
    error = refused(post(), ENGINEERING, trust)
    assert isinstance(error, BusError)
    assert error.reason == "unsigned"
    assert error.sender == "alice"


Tamper = Callable[[Message], Message]


def changed(**fields: object) -> Tamper:
    return lambda message: message.model_copy(update=fields)


TAMPERING: dict[str, tuple[Tamper, str]] = {
    "content changed": (changed(content="API draft is DOWN"), "bad_signature"),
    "priority changed": (changed(priority=Priority.URGENT), "bad_signature"),
    "timestamp changed": (changed(timestamp=datetime(2020, 1, 1, tzinfo=UTC)), "bad_signature"),
    "reply_to added": (changed(reply_to="mallory"), "bad_signature"),
    "custom type set": (changed(type="payment"), "bad_signature"),
    "extra metadata added": (changed(metadata=Metadata(extra={"pay": 10})), "bad_signature"),
    "sender changed": (changed(sender="ceo"), "wrong_sender"),
    "signature removed": (changed(signature=None), "unsigned"),
    "signature not base64": (
        lambda m: changed(signature=Signature(key_id=m.signature.key_id, value="!!"))(m),  # type: ignore[union-attr]
        "bad_signature",
    ),
    "unknown key id": (changed(signature=Signature(key_id="k00", value="AAAA")), "unknown_key"),
}


@pytest.mark.parametrize("case", TAMPERING, ids=list(TAMPERING))
def test_a_tampered_message_is_refused_with_its_reason(
    case: str, alice: Credentials, trust: Trust
) -> None:
    tamper, reason = TAMPERING[case]
    error = refused(tamper(sign(post(), alice)), ENGINEERING, trust)
    assert error.reason == reason, error


def test_a_message_moved_to_another_channel_is_refused(alice: Credentials, trust: Trust) -> None:
    signed = sign(post(), alice)
    moved = signed.model_copy(update={"channel": "#all-hands"})
    assert refused(signed, Stream.of_channel("#all-hands"), trust).reason == "wrong_stream"
    assert refused(moved, Stream.of_channel("#all-hands"), trust).reason == "bad_signature"


def test_a_direct_message_redirected_to_another_inbox_is_refused(
    alice: Credentials, trust: Trust
) -> None:
    signed = sign(Message(sender="alice", recipient="bob", content="secret"), alice)
    redirected = signed.model_copy(update={"recipient": "mallory"})
    assert refused(redirected, Stream.of_inbox("mallory"), trust).reason == "bad_signature"


def test_a_message_signed_by_another_valid_key_for_its_sender_is_refused(
    issue: Issue, trust: Trust
) -> None:
    mallory = issue("mallory")
    forged = sign(post(sender="mallory"), mallory).model_copy(update={"sender": "ceo"})
    error = refused(forged, ENGINEERING, trust)
    assert (error.reason, error.identity) == ("wrong_sender", "mallory")


def test_a_signature_by_another_key_under_the_senders_key_id_is_refused(
    alice: Credentials, issue: Issue, trust: Trust
) -> None:
    mallory = issue("mallory")
    # mallory signs as alice, naming alice's key id: her key is not alice's.
    fake = Credentials.__new__(Credentials)
    fake.private_key, fake.certificate = mallory.private_key, alice.certificate
    assert refused(sign(post(), fake), ENGINEERING, trust).reason == "bad_signature"


def test_a_message_by_a_revoked_key_is_refused(
    root: RootKey, auth_store: AuthStore, alice: Credentials, trust: Trust
) -> None:
    signed = sign(post(), alice)
    verify(signed, ENGINEERING, trust)
    admin.revoke_key(root, auth_store, alice.identity.key_id)
    trust.refresh()
    error = refused(signed, ENGINEERING, trust)
    assert (error.reason, error.key_id) == ("revoked", alice.identity.key_id)


def test_a_message_by_an_expired_certificate_is_refused(
    root: RootKey, auth_store: AuthStore, trust: Trust
) -> None:
    expired = admin.issue_credentials(
        root, auth_store, "temp", not_after=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert refused(sign(post(sender="temp"), expired), ENGINEERING, trust).reason == "expired"


def test_a_key_whose_certificate_another_root_signed_is_refused(
    auth_store: AuthStore, trust: Trust
) -> None:
    impostor = RootKey.generate()
    forged = Credentials.issue(impostor, "ceo", role="operator")
    auth_store.put_certificate(forged.identity.key_id, forged.certificate.to_json())
    assert refused(sign(post(sender="ceo"), forged), ENGINEERING, trust).reason == "bad_certificate"


def test_a_genuine_certificate_stored_under_another_key_id_is_refused(
    alice: Credentials, issue: Issue, auth_store: AuthStore, trust: Trust
) -> None:
    mallory = issue("mallory")
    # A store writer files alice's certificate under mallory's key id, hoping mallory's
    # signatures then verify as alice's.
    auth_store.put_certificate(mallory.identity.key_id, alice.certificate.to_json())
    forged = sign(post(sender="mallory"), mallory).model_copy(update={"sender": "alice"})
    assert refused(forged, ENGINEERING, trust).reason == "bad_certificate"


def test_a_certificate_altered_in_the_store_is_refused(
    root: RootKey, auth_store: AuthStore, issue: Issue
) -> None:
    mallory = issue("mallory")
    # Promote mallory to operator and rename her ceo, keeping the root's signature.
    identity = mallory.identity.model_copy(update={"name": "ceo", "role": "operator"})
    altered = Certificate(identity=identity, signature=mallory.certificate.signature)
    auth_store.put_certificate(identity.key_id, altered.to_json())
    fresh = Trust(root.public_key, auth_store)  # nothing cached
    fake = Credentials.__new__(Credentials)
    fake.private_key, fake.certificate = mallory.private_key, altered
    assert refused(sign(post(sender="ceo"), fake), ENGINEERING, fresh).reason == "bad_certificate"


def test_an_identity_whose_key_id_is_not_its_keys_does_not_load() -> None:
    identity = new_identity("alice", Ed25519PrivateKey.generate().public_key())
    other = new_identity("alice", Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ValueError, match="key_id is not the id of public_key"):
        Identity.model_validate({**identity.model_dump(), "key_id": other.key_id})

"""Message signatures: what a signature covers, signing, and verifying a message as read.

The canonical bytes of a message are ``bus-message-v1``, a newline, then JSON (sorted keys, no
whitespace, UTF-8) of ``{"key_id": ..., "message": ...}``, where the message leaves out ``seq``
(assigned when it is appended, after signing), its ``signature``, and every field that is
``None`` (so a new optional field does not invalidate old signatures). ``channel``,
``recipient`` and ``sender`` are in it: a signed message cannot be moved or re-attributed.
So are the causation fields when set (``causation_id``, ``traceparent``, ``tracestate``, and
``hops`` above 0): the publisher writes the trace context before it signs, so the creation
context a message carries cannot be changed by an intermediary (OpenTelemetry's messaging
conventions ask for exactly that), and a forged or altered one is refused as ``bad_signature``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bus.auth.certificates import Credentials, Identity
from bus.auth.keypairs import b64decode, canonical, verifies
from bus.auth.trust import Trust
from bus.channels import Stream
from bus.errors import AuthenticationFailed
from bus.message import Message, Signature

#: Domain of a message signature.
MESSAGE_DOMAIN = "bus-message-v1"
_UNSIGNED = {"seq", "signature"}

#: Signatures this process has checked, as ``(key id, signature, signed bytes)``. Checking an
#: Ed25519 signature is a pure function of the three (a key id names one public key: it is
#: derived from it), so a hit is the same answer without the ~100 µs of the check; a worker
#: hosting several members of a channel checks each message once, not once per member. Only
#: the signature check is remembered: expiry, revocation, sender and stream are checked on
#: every call. Bounded: emptied when full.
_checked: dict[tuple[str, bytes, bytes], None] = {}
_CHECKED_MAX = 4096


def _remember(key_id: str, raw: bytes, data: bytes) -> None:
    if len(_checked) >= _CHECKED_MAX:
        _checked.clear()
    _checked[(key_id, raw, data)] = None


def _signature_holds(identity: Identity, raw: bytes, data: bytes) -> bool:
    if (identity.key_id, raw, data) in _checked:
        return True
    if not verifies(identity.key, raw, data):
        return False
    _remember(identity.key_id, raw, data)
    return True


def signed_bytes(message: Message, key_id: str) -> bytes:
    """The bytes a signature of ``message`` by ``key_id`` covers."""
    body = message.model_dump(mode="json", exclude=_UNSIGNED, exclude_none=True)
    return canonical(MESSAGE_DOMAIN, {"key_id": key_id, "message": body})


def sign(message: Message, credentials: Credentials) -> Message:
    """``message`` with a signature by ``credentials``.

    Raises:
        AuthenticationFailed: ``reason='wrong_sender'``: ``message.sender`` is not the
            credentials' name (stamp the sender from the identity before signing).
    """
    identity = credentials.identity
    if message.sender != identity.name:
        raise AuthenticationFailed(
            f"{identity.name!r} cannot sign a message from {message.sender!r}",
            reason="wrong_sender",
            identity=identity.name,
            sender=message.sender,
        )
    data = signed_bytes(message, identity.key_id)
    value = credentials.sign(data)
    # A signature just made with this key over these bytes holds: a consumer in this process
    # (an embedded worker, a reply waiter) need not check it again; it still checks the rest.
    if getattr(credentials, "checked_key_id", None) == identity.key_id:
        _remember(identity.key_id, b64decode(value), data)
    return message.model_copy(update={"signature": Signature(key_id=identity.key_id, value=value)})


def _refuse(reason: str, text: str, message: Message, **context: object) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"message {message.id} from {message.sender!r} refused: {text}",
        reason=reason,
        message_id=str(message.id),
        sender=message.sender,
        **context,
    )


def verify(message: Message, stream: Stream | str, trust: Trust) -> Identity:
    """Check ``message``, as read from ``stream``, before handing it over.

    Args:
        message: as decoded from the log, the queue or a reply.
        stream: the stream it was read from (a :class:`~bus.channels.Stream` or its id).
        trust: the process's root key, policy and certificates.

    Returns:
        The signer's identity.

    Raises:
        AuthenticationFailed: with ``reason`` ``unsigned``, ``wrong_stream``, ``unknown_key``,
            ``bad_certificate``, ``expired``, ``revoked``, ``wrong_sender``, ``bad_signature``
            or ``no_policy`` (see docs/security.md).
    """
    signature = message.signature
    if signature is None:
        raise _refuse("unsigned", "it is not signed", message)
    read_from = stream if isinstance(stream, Stream) else Stream.parse(stream)
    addressed = (
        Stream.of_inbox(message.recipient)
        if message.recipient is not None
        else Stream.of_channel(message.channel or "")
    )
    if read_from != addressed:
        raise _refuse(
            "wrong_stream",
            f"it is addressed to {addressed} but was read from {read_from}",
            message,
            stream=read_from.id,
        )
    policy = trust.policy
    identity = trust.identity(signature.key_id)
    if identity.expired(datetime.now(UTC)):
        raise _refuse("expired", f"key {identity.key_id} expired", message, key_id=identity.key_id)
    if policy.is_revoked(identity.key_id):
        raise _refuse(
            "revoked", f"key {identity.key_id} is revoked", message, key_id=identity.key_id
        )
    if identity.name != message.sender:
        raise _refuse(
            "wrong_sender",
            f"it is signed by {identity.name!r}",
            message,
            key_id=identity.key_id,
            identity=identity.name,
        )
    try:
        raw = b64decode(signature.value)
    except ValueError:
        raw = b""
    if not _signature_holds(identity, raw, signed_bytes(message, identity.key_id)):
        raise _refuse(
            "bad_signature",
            "its signature does not match its content",
            message,
            key_id=identity.key_id,
        )
    return identity

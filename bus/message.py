"""The message: a frozen Pydantic model, JSON on the wire, nothing else."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Self, TypedDict
from uuid import UUID, uuid4

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    NonNegativeInt,
    PlainSerializer,
    PlainValidator,
    PositiveInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

from bus.errors import InvalidMessage, MessageDecodeError
from bus.names import check_agent_name, check_channel_name


class MessageType(StrEnum):
    """What a message is for; handlers can be registered per type."""

    TASK_UPDATE = "task_update"
    QUESTION = "question"
    ANNOUNCEMENT = "announcement"
    REVIEW_REQUEST = "review_request"
    APPROVAL = "approval"
    DELEGATION = "delegation"
    STATUS_REPORT = "status_report"
    ESCALATION = "escalation"


#: What a custom message type looks like: lower case, starting with a letter, up to 64
#: characters of letters, digits, ``_``, ``.`` and ``-`` (``task``, ``result``, ``code.review``).
CUSTOM_TYPE = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


def message_type(value: object) -> MessageType | str:
    """``value`` as a message type: a built-in one as its :class:`MessageType`, any other
    name matching :data:`CUSTOM_TYPE` as the string itself.

    Raises:
        ValueError: neither (the message says what a type may be).
    """
    if isinstance(value, MessageType):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a message type is a string, not {type(value).__name__}")
    try:
        return MessageType(value)
    except ValueError:
        pass
    if CUSTOM_TYPE.fullmatch(value) is None:
        raise ValueError(
            f"{value!r} is not a message type: a built-in one "
            f"({', '.join(kind.value for kind in MessageType)}) or a custom one of 1-64 "
            "lower-case letters, digits, '_', '.' and '-', starting with a letter"
        )
    return value


#: A message type: a built-in :class:`MessageType` or a custom name (:func:`message_type`).
Kind = Annotated[
    MessageType | str, PlainValidator(message_type), PlainSerializer(str, return_type=str)
]


class Priority(StrEnum):
    """How urgent a message is. Compare with :attr:`rank`: ``low < normal < high < urgent``."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for urgent."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}

NonBlank = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=256)]
AgentName = Annotated[str, AfterValidator(check_agent_name)]
ChannelName = Annotated[str, AfterValidator(check_channel_name)]


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


class FrozenModel(BaseModel):
    """The base of every model that crosses the wire: immutable, and unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Attachment(FrozenModel):
    """A named piece of content carried with a message: inline text or a link."""

    name: NonBlank
    media_type: NonBlank = "text/plain"
    content: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _content_or_url(self) -> Self:
        if (self.content is None) == (self.url is None):
            raise ValueError("an attachment needs exactly one of 'content' or 'url'")
        return self


#: The largest ``metadata.extra``, as compact JSON (UTF-8 bytes).
MAX_EXTRA_BYTES = 16 * 1024


def _bounded_extra(extra: dict[str, JsonValue]) -> dict[str, JsonValue]:
    for key in extra:
        if not key or len(key) > 64:
            raise ValueError(f"keys are 1-64 characters, not {key!r}")
    size = len(json.dumps(extra, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_EXTRA_BYTES:
        raise ValueError(f"is {size} bytes of JSON, more than the {MAX_EXTRA_BYTES} allowed")
    return extra


class Metadata(FrozenModel):
    """Bookkeeping agents attach to their work: the named fields bus knows, and ``extra``,
    free-form JSON of your own (up to :data:`MAX_EXTRA_BYTES`), signed like the rest."""

    task_id: NonBlank | None = None
    project_id: NonBlank | None = None
    tokens_used: NonNegativeInt | None = None
    cost: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    #: Your own keys: any JSON value under a key of 1-64 characters.
    extra: Annotated[dict[str, JsonValue], AfterValidator(_bounded_extra)] = Field(
        default_factory=dict, exclude_if=lambda value: not value
    )

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        # Name the place for free-form keys, rather than pydantic's "Extra inputs are not
        # permitted" (the first thing a newcomer's own metadata meets).
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in cls.model_fields)
            if unknown:
                raise ValueError(
                    f"unknown key(s) {', '.join(map(repr, unknown))}: metadata has "
                    f"{', '.join(cls.model_fields)}; put your own keys under 'extra' "
                    f"(metadata={{'extra': {{{unknown[0]!r}: ...}}}})"
                )
        return data


class Signature(FrozenModel):
    """Who signed a message and the signature (see :mod:`bus.auth.signing`)."""

    #: The signer's key id, by which verifiers find its certificate.
    key_id: NonBlank
    #: The Ed25519 signature of the message's canonical bytes, base64.
    value: NonBlank


class Message(FrozenModel):
    """One message on a channel, or one direct message to an agent.

    Exactly one of ``channel`` and ``recipient`` is set. ``seq`` is assigned by the bus when the
    message is published: the channel's (or the recipient's inbox's) next sequence number.
    """

    id: UUID = Field(default_factory=uuid4)
    channel: ChannelName | None = None
    sender: AgentName
    recipient: AgentName | None = None
    type: Kind = MessageType.ANNOUNCEMENT
    priority: Priority = Priority.NORMAL
    content: Annotated[str, AfterValidator(_not_blank)]
    attachments: tuple[Attachment, ...] = ()
    metadata: Metadata = Metadata()
    timestamp: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    seq: PositiveInt | None = None
    correlation_id: UUID | None = None
    reply_to: AgentName | None = None
    #: Set by :func:`bus.auth.signing.sign` when authentication is on; ``None`` otherwise, and
    #: then left out of the JSON, so unsigned messages travel exactly as before.
    signature: Signature | None = Field(default=None, exclude_if=lambda value: value is None)

    @model_validator(mode="after")
    def _one_destination(self) -> Self:
        if (self.channel is None) == (self.recipient is None):
            raise ValueError("a message needs exactly one of 'channel' or 'recipient'")
        return self

    @property
    def is_direct(self) -> bool:
        """True for a direct message (it has a recipient, not a channel)."""
        return self.recipient is not None

    def to_json(self) -> bytes:
        """The wire form: compact JSON, UTF-8."""
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Message:
        """Decode the wire form.

        Raises:
            MessageDecodeError: not JSON, or a field fails; ``context['errors']`` says which.
        """
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise decode_error(exc) from None

    @classmethod
    def from_dict(cls, data: Any) -> Message:
        """Validate an already decoded JSON object (as kombu hands it over)."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise decode_error(exc) from None


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Flatten a Pydantic error into ``[{"field": "metadata.cost", "reason": "..."}]``."""
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "(message)",
            "reason": error["msg"],
        }
        for error in exc.errors(include_url=False)
    ]


def describe(errors: list[dict[str, str]]) -> str:
    """One line naming each failing field and why."""
    return "; ".join(f"{error['field']}: {error['reason']}" for error in errors)


def decode_error(exc: ValidationError) -> MessageDecodeError:
    """A :class:`MessageDecodeError` that names every failing field."""
    errors = field_errors(exc)
    return MessageDecodeError(f"invalid message: {describe(errors)}", errors=errors)


def build_message(**fields: Any) -> Message:
    """A new message from its fields, validated.

    ``attachments`` may be any iterable and ``metadata=None`` means none, as the publishing
    methods accept them.

    Raises:
        InvalidMessage: a field is invalid; ``context['errors']`` names each one and why.
    """
    attachments = fields.get("attachments")
    if isinstance(attachments, Iterable) and not isinstance(attachments, str | bytes | dict):
        fields["attachments"] = tuple(attachments)
    if "metadata" in fields and fields["metadata"] is None:
        del fields["metadata"]
    try:
        return Message(**fields)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise InvalidMessage(
            f"invalid message: {describe(errors)}",
            errors=errors,
            channel=fields.get("channel"),
            agent=fields.get("recipient"),
        ) from None


class MessageFields(TypedDict, total=False):
    """The optional fields of a message an agent publishes, sends or replies with, and
    ``idempotency_key``: a retry with the same key within ``BUS_DEDUPE_WINDOW_SECONDS`` stores
    nothing and returns the first publish's seq (not a field of the message)."""

    type: MessageType | str
    priority: Priority | str
    attachments: Iterable[Attachment | dict[str, Any]]
    metadata: Metadata | dict[str, Any] | None
    correlation_id: UUID | str | None
    reply_to: str | None
    idempotency_key: str | None


class HistoryFilters(TypedDict, total=False):
    """The filters of :meth:`bus.Bus.history`: ``limit`` newest, seq ``after``, ``since`` a time."""

    limit: int | None
    after: int | None
    since: datetime | None

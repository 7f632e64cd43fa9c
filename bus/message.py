"""The message: a frozen Pydantic model, JSON on the wire, nothing else."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
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
    PositiveInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

from bus.errors import InvalidMessage, MessageDecodeError
from bus.kinds import Kind, MessageType, Priority
from bus.names import check_agent_name, check_channel_name, check_sender_name

NonBlank = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=256)]
AgentName = Annotated[str, AfterValidator(check_agent_name)]
#: Who may send: an agent, or a person using the console (``human:<name>``).
SenderName = Annotated[str, AfterValidator(check_sender_name)]
ChannelName = Annotated[str, AfterValidator(check_channel_name)]


#: A W3C ``traceparent`` (version 00): ``00-<trace id: 32 hex>-<parent id: 16 hex>-<flags: 2 hex>``.
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")
#: A W3C ``tracestate``: up to 32 ``key=value`` members, printable ASCII without ``,`` and ``=``
#: in values; checked loosely (its vendors' formats vary), and at most 512 characters.
_TRACESTATE = re.compile(r"[\x21-\x2b\x2d-\x7e]+=[\x20-\x2b\x2d-\x3c\x3e-\x7e]*")


def _traceparent(value: str) -> str:
    if not _TRACEPARENT.fullmatch(value):
        raise ValueError("not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>, lower case)")
    return value


def _tracestate(value: str) -> str:
    members = [member.strip() for member in value.split(",") if member.strip()]
    if len(members) > 32 or not all(_TRACESTATE.fullmatch(member) for member in members):
        raise ValueError("not a W3C tracestate (up to 32 comma-separated key=value members)")
    return value


def _none(value: object) -> bool:
    return value is None


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
        fields = cls.model_fields  # looked up once, not once a key
        if isinstance(data, dict) and not data.keys() <= fields.keys():
            unknown = sorted(str(key) for key in data if key not in fields)
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
    sender: SenderName
    recipient: AgentName | None = None
    type: Kind = MessageType.ANNOUNCEMENT
    priority: Priority = Priority.NORMAL
    content: Annotated[str, AfterValidator(_not_blank)]
    attachments: tuple[Attachment, ...] = ()
    metadata: Metadata = Field(default_factory=Metadata)  # a new one each: no deepcopy of a default
    timestamp: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    seq: PositiveInt | None = None
    correlation_id: UUID | None = None
    reply_to: AgentName | None = None
    #: The id of the message whose handling caused this one: set by a handler's ``ctx`` (the
    #: message being handled) and by ``reply`` (the message answered), or by hand. ``bus
    #: trace`` follows it; like every causation field it is signed when auth is on.
    causation_id: UUID | None = Field(default=None, exclude_if=_none)
    #: The W3C trace context this message was created in (``traceparent``, ``tracestate``):
    #: its ``publish`` span when OpenTelemetry is configured, else the context it was given,
    #: so one chain of messages is one trace across agents, workers and processes.
    traceparent: Annotated[str, AfterValidator(_traceparent)] | None = Field(
        default=None, exclude_if=_none
    )
    tracestate: Annotated[str, Field(max_length=512), AfterValidator(_tracestate)] | None = Field(
        default=None, exclude_if=_none
    )
    #: How many messages caused this one before it (its causation depth): 0 for a message no
    #: handler caused, the cause's ``hops`` + 1 otherwise. Left out of the JSON when 0.
    hops: NonNegativeInt = Field(default=0, exclude_if=lambda value: value == 0)
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
    causation_id: UUID | str | None
    traceparent: str | None
    tracestate: str | None
    hops: int
    idempotency_key: str | None


class HistoryFilters(TypedDict, total=False):
    """The filters of :meth:`bus.Bus.history`: ``limit`` newest, seq ``after``, ``since`` a time."""

    limit: int | None
    after: int | None
    since: datetime | None

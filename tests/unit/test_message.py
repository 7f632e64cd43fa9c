"""The message model: JSON round trips, and decode errors that name the failing field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bus.errors import InvalidMessage, MessageDecodeError
from bus.kinds import MessageType, Priority
from bus.message import MAX_EXTRA_BYTES, Attachment, Message, Metadata, build_message
from bus.names import AGENT_NAME

agent_names = st.from_regex(AGENT_NAME, fullmatch=True)
channel_names = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64
)
non_blank = st.text(min_size=1).filter(lambda text: text.strip() != "")
short = st.text(min_size=1, max_size=256)
# Whole-minute offsets: what an RFC 3339 timestamp can say.
zones = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
timestamps = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones
)
attachments = st.one_of(
    st.builds(Attachment, name=short, media_type=short, content=st.text()),
    st.builds(Attachment, name=short, media_type=short, url=st.text()),
)
metadata = st.builds(
    Metadata,
    task_id=st.none() | short,
    project_id=st.none() | short,
    tokens_used=st.none() | st.integers(min_value=0),
    cost=st.none() | st.floats(min_value=0, allow_nan=False, allow_infinity=False),
)
destinations = st.one_of(
    st.fixed_dictionaries({"channel": channel_names}),
    st.fixed_dictionaries({"recipient": agent_names}),
)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    """Any valid message."""
    return Message(
        **draw(destinations),
        sender=draw(agent_names),
        content=draw(non_blank),
        type=draw(st.sampled_from(MessageType)),
        priority=draw(st.sampled_from(Priority)),
        attachments=tuple(draw(st.lists(attachments, max_size=3))),
        metadata=draw(metadata),
        timestamp=draw(timestamps),
        seq=draw(st.none() | st.integers(min_value=1)),
        correlation_id=draw(st.none() | st.uuids()),
        reply_to=draw(st.none() | agent_names),
    )


def valid_fields(**changes: Any) -> dict[str, Any]:
    """The JSON object of a valid channel message, with ``changes`` applied."""
    fields: dict[str, Any] = json.loads(
        Message(channel="#news", sender="alice", content="hello").to_json()
    )
    fields.update(changes)
    return fields


def failing_fields(data: dict[str, Any]) -> list[str]:
    with pytest.raises(MessageDecodeError) as caught:
        Message.from_json(json.dumps(data))
    return [error["field"] for error in caught.value.errors]


@given(messages())
def test_every_valid_message_survives_a_json_round_trip(message: Message) -> None:
    assert Message.from_json(message.to_json()) == message
    assert Message.from_json(message.to_json().decode()) == message


@given(messages())
def test_a_decoded_dict_gives_the_same_message(message: Message) -> None:
    assert Message.from_dict(json.loads(message.to_json())) == message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from([*Message.model_fields, "extra"])
message_like = st.dictionaries(field_names, json_values).map(json.dumps)


@given(st.binary() | st.text() | message_like)
def test_decoding_anything_gives_a_message_or_a_decode_error(data: bytes | str) -> None:
    errors: list[dict[str, str]] | None = None
    try:
        decoded = Message.from_json(data)
    except MessageDecodeError as exc:  # the only exception allowed out
        errors = exc.errors
    if errors is None:
        assert isinstance(decoded, Message)
    else:
        assert errors
        assert all(error["field"] and error["reason"] for error in errors)


@pytest.mark.parametrize("content", ["", "   ", "\n\t"])
def test_a_blank_content_is_refused_naming_content(content: str) -> None:
    assert failing_fields(valid_fields(content=content)) == ["content"]


def test_an_unknown_field_is_refused_by_name() -> None:
    assert failing_fields(valid_fields(mood="cheerful")) == ["mood"]


def test_a_naive_timestamp_is_refused_naming_timestamp() -> None:
    naive = datetime(2024, 5, 1, 12, 0).isoformat()
    assert failing_fields(valid_fields(timestamp=naive)) == ["timestamp"]


def test_a_nested_failure_names_the_full_path() -> None:
    assert failing_fields(valid_fields(metadata={"cost": -1})) == ["metadata.cost"]


def test_a_message_needs_exactly_one_destination() -> None:
    both = valid_fields(recipient="bob")
    with pytest.raises(MessageDecodeError, match="exactly one of 'channel' or 'recipient'"):
        Message.from_json(json.dumps(both))
    with pytest.raises(MessageDecodeError, match="exactly one of 'channel' or 'recipient'"):
        Message.from_json(json.dumps(valid_fields(channel=None)))


def test_invalid_names_are_refused_naming_the_field() -> None:
    assert failing_fields(valid_fields(sender="no spaces")) == ["sender"]
    assert failing_fields(valid_fields(channel="")) == ["channel"]


def test_text_that_is_not_json_is_a_decode_error() -> None:
    with pytest.raises(MessageDecodeError, match="invalid message"):
        Message.from_json(b"\xff not json")


def test_priorities_rank_from_low_to_urgent() -> None:
    ranks = [priority.rank for priority in (Priority.LOW, Priority.NORMAL, Priority.HIGH)]
    assert [*ranks, Priority.URGENT.rank] == [0, 1, 2, 3]


def test_a_timestamp_keeps_its_instant_across_time_zones() -> None:
    stamp = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    message = Message(channel="#news", sender="a", content="x", timestamp=stamp)
    decoded = Message.from_json(message.to_json())
    assert decoded.timestamp == stamp
    assert decoded.timestamp.astimezone(UTC).hour == 10


@pytest.mark.parametrize("kind", ["task", "result", "code.review", "x", "a" + "b" * 63])
def test_a_custom_type_is_accepted_and_survives_json(kind: str) -> None:
    message = Message(channel="#a", sender="alice", content="hi", type=kind)

    assert Message.from_json(message.to_json()).type == kind


def test_a_built_in_type_is_still_the_enum() -> None:
    message = Message.from_json(Message(recipient="bob", sender="a", content="x").to_json())

    assert message.type is MessageType.ANNOUNCEMENT
    assert Message(channel="#a", sender="a", content="x", type="question").type is (
        MessageType.QUESTION
    )


@pytest.mark.parametrize("kind", ["Task", "1st", "", "has space", "a" * 65, "é", 3])
def test_an_invalid_type_is_refused_saying_what_a_type_may_be(kind: object) -> None:
    with pytest.raises(InvalidMessage) as caught:
        build_message(channel="#a", sender="alice", content="hi", type=kind)

    assert caught.value.context["errors"][0]["field"] == "type"
    assert "message type" in caught.value.message


def test_free_form_metadata_goes_under_extra_and_survives_json() -> None:
    extra = {"owner": "me", "budget": {"tokens": 1000, "tags": ["a", None, 1.5, True]}}
    message = Message(
        channel="#a", sender="alice", content="hi", metadata={"task_id": "t1", "extra": extra}
    )

    decoded = Message.from_json(message.to_json())

    assert (decoded.metadata.task_id, decoded.metadata.extra) == ("t1", extra)


def test_an_empty_extra_is_left_out_of_the_wire_form() -> None:
    message = Message(channel="#a", sender="alice", content="hi")

    assert "extra" not in json.loads(message.to_json())["metadata"]


def test_an_unknown_metadata_key_is_refused_naming_it_and_where_it_goes() -> None:
    with pytest.raises(InvalidMessage) as caught:
        build_message(channel="#a", sender="a", content="x", metadata={"owner": "me"})

    assert caught.value.context["errors"][0]["field"] == "metadata"
    assert "unknown key(s) 'owner'" in caught.value.message
    assert "under 'extra'" in caught.value.message


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"big": "x" * MAX_EXTRA_BYTES}, "more than the 16384 allowed"),
        ({"": 1}, "keys are 1-64 characters"),
        ({"k" * 65: 1}, "keys are 1-64 characters"),
        ({"when": datetime(2025, 1, 1)}, "metadata.extra.when"),
    ],
    ids=["too large", "empty key", "long key", "not JSON"],
)
def test_bad_extra_metadata_is_refused_naming_metadata_extra(
    extra: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidMessage) as caught:
        build_message(channel="#a", sender="a", content="x", metadata={"extra": extra})

    assert caught.value.context["errors"][0]["field"].startswith("metadata.extra")
    assert reason in caught.value.message

"""Channel and agent names: what is accepted, and the reversible broker encoding."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bus.errors import InvalidName
from bus.names import (
    AGENT_NAME,
    MAX_CHANNEL_LENGTH,
    check_agent_name,
    check_channel_name,
    check_sender_name,
    decode_channel,
    encode_channel,
)

#: A channel name may not use control, format, surrogate, private or unassigned characters
#: (categories C*) nor separators (Z*).
printable = st.characters(exclude_categories=("C", "Z")).filter(lambda char: not char.isspace())
# A character is at most 4 UTF-8 bytes, 12 encoded characters: 16 of them always fit the
# encoded limit; ASCII ones take at most 3, so a full 64 fit.
channel_names = st.one_of(
    st.text(printable, min_size=1, max_size=16),
    st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E),
        min_size=1,
        max_size=MAX_CHANNEL_LENGTH,
    ),
)
TOKEN = re.compile(r"[A-Za-z0-9_-]*")


@given(channel_names)
def test_every_generated_channel_name_is_valid(name: str) -> None:
    assert check_channel_name(name) == name


@given(channel_names)
def test_decoding_an_encoded_channel_name_gives_it_back(name: str) -> None:
    assert decode_channel(encode_channel(name)) == name


@given(channel_names)
def test_encoded_channel_names_use_only_letters_digits_dash_and_underscore(name: str) -> None:
    assert TOKEN.fullmatch(encode_channel(name))


@given(channel_names, channel_names)
def test_different_channel_names_never_share_an_encoding(first: str, second: str) -> None:
    assume(first != second)
    assert encode_channel(first) != encode_channel(second)


def test_encoding_escapes_wildcards_and_the_escape_character_itself() -> None:
    assert encode_channel("#engineering") == "_23engineering"
    assert encode_channel("a_b") == "a_5fb"
    assert encode_channel("a.*") == "a_2e_2a"


@pytest.mark.parametrize("name", ["#", "*", "a.#", "*.x", "#engineering", "é", "日本"])
def test_wildcard_like_and_non_ascii_channel_names_are_accepted(name: str) -> None:
    assert check_channel_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "must not be empty"),
        (" ", "contains"),
        ("a b", "contains"),
        ("#news\n", "contains"),
        ("tab\there", "contains"),
        ("nul\x00", "contains"),
        ("bell\x07", "contains"),
        ("zero\u200bwidth", "contains"),
        ("x" * (MAX_CHANNEL_LENGTH + 1), f"the limit is {MAX_CHANNEL_LENGTH}"),
        ("é" * 40, "too long once encoded"),
    ],
)
def test_bad_channel_names_are_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(InvalidName, match=re.escape(reason)) as caught:
        check_channel_name(name)
    assert caught.value.channel == name


@given(channel_names, st.sampled_from(" \t\n\r\x00\x1f\x7f\u2028\u00a0"), st.data())
def test_a_channel_name_with_whitespace_or_a_control_character_is_refused(
    name: str, bad: str, data: st.DataObject
) -> None:
    where = data.draw(st.integers(0, len(name)))
    with pytest.raises(InvalidName, match="contains"):
        check_channel_name(name[:where] + bad + name[where:])


@pytest.mark.parametrize("name", [None, 42, b"#news"])
def test_a_channel_name_that_is_not_a_string_is_refused(name: object) -> None:
    with pytest.raises(InvalidName, match="must be a string"):
        check_channel_name(name)


@given(st.from_regex(AGENT_NAME, fullmatch=True))
def test_every_name_matching_the_agent_pattern_is_accepted(name: str) -> None:
    assert check_agent_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", ".hidden", "_x", "-x", "has space", "#channel", "a/b", "é", "a" * 65, "bob\n"],
)
def test_bad_agent_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidName, match="invalid agent name") as caught:
        check_agent_name(name)
    assert caught.value.agent == name


@given(st.text())
def test_any_text_is_an_agent_name_exactly_when_it_matches_the_pattern(name: str) -> None:
    if AGENT_NAME.fullmatch(name):
        assert check_agent_name(name) == name
    else:
        with pytest.raises(InvalidName):
            check_agent_name(name)


def test_an_agent_name_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidName, match="must be a string"):
        check_agent_name(7)


def test_a_person_may_send_as_human_name_but_is_no_agent_name() -> None:
    assert check_sender_name("human:alice") == "human:alice"
    assert check_sender_name("alice") == "alice"
    for bad in ("human:", "human:-x", "robot:alice", "human:a b"):
        with pytest.raises(InvalidName):
            check_sender_name(bad)
    with pytest.raises(InvalidName):
        check_agent_name("human:alice")

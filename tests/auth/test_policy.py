"""Policy: allow/deny tables for channels, patterns, roles and direct messages."""

from __future__ import annotations

import pytest

from bus.auth.certificates import Identity, Role, new_identity
from bus.auth.keypairs import Ed25519PrivateKey
from bus.auth.policy import Action, Policy, Rule, matches
from bus.channels import Stream
from bus.errors import PermissionDenied
from bus.message import Message


def who(name: str, role: Role = "agent") -> Identity:
    return new_identity(name, Ed25519PrivateKey.generate().public_key(), role=role)


CEO, ALICE, BOB, OPS = who("ceo"), who("alice"), who("bob"), who("ops", "operator")
TEAM_A, TEAM_B = who("team-a"), who("team-b")
IDENTITIES = {i.name: i for i in (CEO, ALICE, BOB, OPS, TEAM_A, TEAM_B)}

POLICY = Policy(
    version=3,
    default=Rule(publish=("*",), subscribe=("*",)),
    channels={
        "#all-hands": Rule(publish=("role:operator", "ceo")),
        "#team-*": Rule(publish=("team-*",), subscribe=("team-*", "role:operator")),
        "#team-secret": Rule(subscribe=("team-a",)),
        "#quiet": Rule(publish=("*", "!bob")),
        "#closed": Rule(publish=(), subscribe=()),
    },
    direct_send=("*", "!team-b"),
)

# (identity, action, channel, allowed)
CHANNEL_TABLE = [
    ("ops", "publish", "#all-hands", True),
    ("ceo", "publish", "#all-hands", True),
    ("alice", "publish", "#all-hands", False),
    ("alice", "subscribe", "#all-hands", True),  # not listed: falls back to the default
    ("alice", "publish", "#engineering", True),  # channel not named: the default
    ("team-a", "publish", "#team-x", True),
    ("alice", "publish", "#team-x", False),
    ("alice", "subscribe", "#team-x", False),
    ("ops", "subscribe", "#team-x", True),
    ("team-b", "subscribe", "#team-x", True),
    ("team-a", "subscribe", "#team-secret", True),  # exact name wins over the pattern
    ("team-b", "subscribe", "#team-secret", False),
    ("ops", "subscribe", "#team-secret", False),
    ("team-b", "publish", "#team-secret", True),  # not listed: falls to the pattern's rule
    ("alice", "publish", "#team-secret", False),
    ("alice", "publish", "#quiet", True),
    ("bob", "publish", "#quiet", False),  # an exclusion wins over '*'
    ("ops", "publish", "#closed", False),  # operators get only what the policy gives them
    ("ops", "subscribe", "#closed", False),
]


@pytest.mark.parametrize(
    ("name", "action", "channel", "allowed"),
    CHANNEL_TABLE,
    ids=[f"{n}-{a}-{c}-{'allow' if ok else 'deny'}" for n, a, c, ok in CHANNEL_TABLE],
)
def test_channel_permissions_follow_the_table(
    name: str, action: Action, channel: str, allowed: bool
) -> None:
    assert POLICY.allows(IDENTITIES[name], action, channel) is allowed
    assert POLICY.allows(IDENTITIES[name], action, Stream.of_channel(channel)) is allowed


# (identity, action, inbox owner, allowed)
DIRECT_TABLE = [
    ("alice", "publish", "bob", True),
    ("team-b", "publish", "bob", False),
    ("bob", "subscribe", "bob", True),
    ("alice", "subscribe", "bob", False),
    ("ops", "subscribe", "bob", True),
]


@pytest.mark.parametrize(
    ("name", "action", "owner", "allowed"),
    DIRECT_TABLE,
    ids=[f"{n}-{a}-inbox:{o}-{'allow' if ok else 'deny'}" for n, a, o, ok in DIRECT_TABLE],
)
def test_direct_message_permissions_follow_the_table(
    name: str, action: Action, owner: str, allowed: bool
) -> None:
    assert POLICY.allows(IDENTITIES[name], action, Stream.of_inbox(owner)) is allowed


DM = Message(sender="alice", recipient="bob", content="private")
# (reader, allowed) for alice's direct message to bob, read from history
DIRECT_HISTORY = [("bob", True), ("alice", True), ("ops", True), ("ceo", False), ("team-a", False)]


@pytest.mark.parametrize(("name", "allowed"), DIRECT_HISTORY, ids=[n for n, _ in DIRECT_HISTORY])
def test_direct_message_history_is_for_recipient_sender_and_operators(
    name: str, allowed: bool
) -> None:
    assert POLICY.may_read(IDENTITIES[name], DM) is allowed


def test_channel_history_follows_subscribe() -> None:
    post = Message(channel="#team-x", sender="team-a", content="plan")
    assert POLICY.may_read(TEAM_B, post)
    assert not POLICY.may_read(ALICE, post)


def test_a_revoked_key_may_do_nothing() -> None:
    revoked = POLICY.revoke(OPS.key_id)
    assert not revoked.allows(OPS, "publish", "#engineering")
    assert not revoked.allows(OPS, "subscribe", Stream.of_inbox("ops"))
    assert not revoked.may_read(OPS, DM)
    assert revoked.allows(ALICE, "publish", "#engineering")


def test_a_refusal_names_identity_action_and_channel() -> None:
    with pytest.raises(PermissionDenied) as caught:
        POLICY.check(ALICE, "publish", "#all-hands")
    assert caught.value.context == {
        "identity": "alice",
        "action": "publish",
        "channel": "#all-hands",
    }
    assert "'alice' may not publish on channel '#all-hands'" in str(caught.value)


def test_a_direct_refusal_names_the_recipient() -> None:
    with pytest.raises(PermissionDenied) as caught:
        POLICY.check(ALICE, "subscribe", Stream.of_inbox("bob"))
    assert caught.value.context == {"identity": "alice", "action": "subscribe", "recipient": "bob"}


def test_an_allowed_check_raises_nothing() -> None:
    POLICY.check(CEO, "publish", "#all-hands")
    POLICY.check(BOB, "subscribe", Stream.of_inbox("bob"))


def test_grant_adds_a_principal_and_keeps_who_could_already() -> None:
    granted = POLICY.grant("alice", "publish", "#all-hands")
    assert granted.version == POLICY.version + 1
    assert granted.channels["#all-hands"].publish == ("role:operator", "ceo", "alice")
    assert granted.allows(ALICE, "publish", "#all-hands")


def test_grant_on_a_new_channel_starts_from_the_default() -> None:
    granted = Policy(default=Rule(publish=("ceo",), subscribe=("*",))).grant("bob", "publish", "#x")
    assert granted.channels["#x"] == Rule(publish=("ceo", "bob"))
    assert granted.allows(BOB, "subscribe", "#x")  # subscribe still falls back


def test_deny_excludes_even_through_a_pattern_and_grant_undoes_it() -> None:
    denied = POLICY.deny("team-a", "publish", "#team-x")
    assert denied.channels["#team-x"].publish == ("team-*", "!team-a")
    assert not denied.allows(TEAM_A, "publish", "#team-x")
    assert denied.allows(TEAM_B, "publish", "#team-x")
    assert denied.grant("team-a", "publish", "#team-x").allows(TEAM_A, "publish", "#team-x")


def test_grant_and_deny_on_the_default_rule() -> None:
    denied = POLICY.deny("bob", "publish", None)
    assert not denied.allows(BOB, "publish", "#engineering")
    assert denied.allows(BOB, "publish", "#quiet") is False
    assert denied.grant("bob", "publish", None).allows(BOB, "publish", "#engineering")


def test_the_most_literal_pattern_wins() -> None:
    policy = Policy(
        channels={"#*": Rule(publish=()), "#team-*": Rule(publish=("*",)), "#team-a*": Rule()}
    )
    assert policy.rule_keys("#team-b") == ["#team-*", "#*"]
    assert policy.rule_keys("#team-ab") == ["#team-a*", "#team-*", "#*"]
    assert policy.rule_keys("#other") == ["#*"]
    assert policy.rule_keys("plain") == []
    assert policy.principals("publish", "#team-ab") == ("*",)  # '#team-a*' lists no publish


@pytest.mark.parametrize(
    ("pattern", "value", "matched"),
    [
        ("#team-*", "#team-a", True),
        ("#team-*", "#team-", True),
        ("#team-*", "#teams", False),
        ("#a.b", "#aXb", False),  # only '*' is special
        ("*", "anything", True),
        ("#x", "#x", True),
        ("a*b*c", "aXXbYc", True),
    ],
)
def test_patterns_match_any_run_of_characters_at_each_star(
    pattern: str, value: str, matched: bool
) -> None:
    assert matches(pattern, value) is matched


def test_the_initial_policy_lets_only_operators_publish_on_all_hands() -> None:
    initial = Policy.initial()
    assert initial.allows(OPS, "publish", "#all-hands")
    assert not initial.allows(CEO, "publish", "#all-hands")
    assert initial.allows(ALICE, "publish", "#engineering")

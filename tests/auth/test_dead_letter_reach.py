"""No content reaches an agent the policy keeps it from (issue 23, item 6), with real workers on
Redis and RabbitMQ and an embedded one on memory: dead letters of a channel mallory may not read
and of a direct message between tester and rec-a, made by failing handlers and by refusing
consumers, are seen by operators and by those who may read the original, never by mallory."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest

from bus import Bus, PermissionDenied
from bus.auth.signing import sign
from bus.deadletters.operations import DeadLetter, list_dead_letters
from bus.message import Message
from tests.auth.deploy import inject
from tests.auth.hosting import Hosted
from tests.helpers.cli_support import assert_one_line_error, cli_environment, run_bus
from tests.worker.harness import wait_for


def _about(letters: list[DeadLetter]) -> list[tuple[str, str | None, bool]]:
    """(agent, channel or None for a DM, whether it was a refusal) of each letter, sorted."""
    return sorted(
        ((letter.agent, letter.channel, letter.attempts == 0) for letter in letters),
        key=str,
    )


def test_dead_letters_reach_only_operators_and_those_who_may_read_the_original(
    hosted: Hosted,
) -> None:
    tester, ops, deployment = hosted.tester, hosted.ops, hosted.deployment
    deployment.change(lambda policy: policy.deny("mallory", "subscribe", "#engineering"))
    mallory = deployment.bus_as("mallory")
    wait_for(_denied(mallory), 10, "mallory's denial to be in force")
    mallory.register_agent("mallory", channels=["#dead-letters"])
    ops.subscribe("rec-b", "#dead-letters")  # a hosted agent told of dead letters
    # A failing handler dead-letters a channel message and a direct message ...
    tester.publish("#engineering", "fail", sender="tester")
    tester.send("rec-a", "fail", sender="tester")
    # ... and a refusing consumer a changed one of each (genuine, then altered in the store).
    key = deployment.credentials["tester"]
    for addressed in (
        Message(channel="#engineering", sender="tester", content="pay 10"),
        Message(recipient="rec-a", sender="tester", content="pay 10"),
    ):
        altered = sign(addressed, key).model_copy(update={"content": "pay 10000"})
        inject(ops, altered, deliver_to="rec-a")
    expected = _about(
        [
            _letter(agent, channel, attempts)
            for agent, channel in (
                ("rec-a", "#engineering"),
                ("rec-b", "#engineering"),
                ("rec-a", None),
            )
            for attempts in (0, 3)
        ]
    )
    wait_for(lambda: len(list_dead_letters(ops)) >= 6, 60, "the six dead letters")
    assert _about(list_dead_letters(ops)) == expected
    # The sender of the direct message, who may read #engineering, sees them all too.
    assert _about(list_dead_letters(tester)) == expected
    # rec-b's handler is handed those of #engineering (it reads it), never the direct
    # message's: its run passes over them.
    letters = list_dead_letters(ops)
    of_channel = sorted(cast(int, item.dead_letter_seq) for item in letters if item.channel)
    last = ops.get_channel("#dead-letters").last_seq
    wait_for(
        lambda: ops.store.log.position("rec-b", "c:#dead-letters") == last,
        30,
        "rec-b to read the dead letters",
    )
    assert sorted(set(hosted.started("rec-b", "#dead-letters"))) == of_channel
    # mallory sees none: not in the dead letters' history, not by receiving, not elsewhere.
    assert mallory.history("#dead-letters") == []
    assert mallory.receive("mallory", timeout=1) is None
    assert mallory.direct_history("rec-a") == []
    with pytest.raises(PermissionDenied):
        mallory.history("#engineering")
    if hosted.transport == "redis":  # the CLI is another process (one transport is enough)
        env = cli_environment(
            deployment.settings, BUS_CREDENTIALS=str(deployment.directory / "mallory.json")
        )
        shown = run_bus(env, "dlq", "list")
        assert shown.returncode == 0, shown.stderr
        assert "rec-" not in shown.stdout
        assert shown.stderr == ""
        assert_one_line_error(run_bus(env, "history", "#engineering"), 1, "'mallory'")


def _denied(mallory: Bus) -> Callable[[], bool]:
    def check() -> bool:
        try:
            mallory.history("#engineering")
        except PermissionDenied:
            return True
        return False

    return check


def _letter(agent: str, channel: str | None, attempts: int) -> DeadLetter:
    addressed = {"channel": channel} if channel else {"recipient": agent}
    message = Message(sender="tester", content="x", seq=1, **addressed)
    return DeadLetter(
        agent=agent, channel=channel, seq=1, message=message, error="", attempts=attempts
    )

"""Configuration changes are applied, not refused: a bus started with other retention or
broadcast settings reconciles the settings' own channels (logged), ``Bus.update_channel`` and
``bus channels set`` change a channel at run time, and every process applies the change at its
next publish (the store appends only for the current spec version)."""

from __future__ import annotations

import json
import logging

import pytest

from bus import Bus
from bus.channels import ChannelKind, Retention
from bus.errors import ChannelExists
from tests.brokers import require, settings_for
from tests.helpers.cli_support import cli_environment, run_bus


@pytest.fixture(params=["memory", "redis"])
def transport(request: pytest.FixtureRequest) -> str:
    require(request.param)
    return str(request.param)


def test_a_bus_started_with_other_settings_applies_them_and_running_publishers_follow(
    transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    first = settings_for(transport)
    running = Bus(first).start()
    try:
        running.register_agent("bob")
        running.publish("#engineering", "cached the spec", sender="alice")
        changed = first.model_copy(
            update={
                "retention_max_messages": 5,
                "broadcast_channels": frozenset({"#all-hands", "#engineering"}),
            }
        )
        with (
            caplog.at_level(logging.WARNING, logger="bus.registry.service"),
            Bus(changed) as other,
        ):
            info = other.get_channel("#engineering")
        assert info.spec.kind is ChannelKind.BROADCAST
        assert info.spec.retention.max_messages == 5
        assert "bob" in info.members, "made broadcast: every agent is a member"
        assert any("#engineering changed" in r.getMessage() for r in caplog.records)
        # The running bus still caches version 1: its next appends use the new retention.
        for index in range(10):
            running.publish("#engineering", f"m{index}", sender="alice")
        assert running.get_channel("#engineering").retained == 5
        assert running.get_channel("#design").spec.retention.max_messages == 5
    finally:
        running.destroy()


def test_a_retention_set_for_a_channel_is_kept_when_the_settings_change(transport: str) -> None:
    settings = settings_for(transport)
    with Bus(settings) as bus:
        bus.update_channel("#product", retention=Retention(max_messages=7))
        bus.create_channel("#mine", retention=Retention(max_messages=9))
    with Bus(settings.model_copy(update={"retention_max_messages": 3})) as bus:
        try:
            assert bus.get_channel("#product").spec.retention.max_messages == 7
            assert bus.get_channel("#mine").spec.retention.max_messages == 9
            assert bus.get_channel("#design").spec.retention.max_messages == 3
        finally:
            bus.destroy()


def test_a_broadcast_channel_dropped_from_the_settings_becomes_a_topic_keeping_its_members(
    transport: str,
) -> None:
    settings = settings_for(transport)
    with Bus(settings) as bus:
        bus.register_agent("bob")
    with Bus(settings.model_copy(update={"broadcast_channels": frozenset()})) as bus:
        try:
            info = bus.get_channel("#all-hands")
            assert info.spec.kind is ChannelKind.TOPIC
            assert "bob" in info.members
            assert bus.unsubscribe("bob", "#all-hands")
        finally:
            bus.destroy()


def test_creating_an_existing_channel_anew_with_another_retention_says_how_to_change_it(
    transport: str,
) -> None:
    with Bus(settings_for(transport)) as bus:
        try:
            with pytest.raises(ChannelExists, match="update_channel"):
                bus.create_channel("#engineering", retention=Retention(max_messages=2))
            updated = bus.update_channel("#engineering", retention=Retention(max_messages=2))
            assert updated.spec.version == 2
            again = bus.create_channel("#engineering", retention=Retention(max_messages=2))
            assert again.spec.version == 2  # the same kind and retention: no error
        finally:
            bus.destroy()


def test_bus_channels_set_changes_a_channel_from_the_command_line() -> None:
    require("redis")
    settings = settings_for("redis")
    env = cli_environment(settings)
    try:
        done = run_bus(
            env,
            "--json",
            "channels",
            "set",
            "#engineering",
            "--max-messages",
            "42",
            "--max-age",
            "60",
        )
        assert done.returncode == 0, done.stderr
        shown = json.loads(done.stdout.splitlines()[-1])
        assert shown["retention"] == {"max_messages": 42, "max_age_seconds": 60.0}
        with Bus(settings) as bus:
            assert bus.get_channel("#engineering").spec.retention.max_messages == 42
        bad = run_bus(env, "channels", "set", "#engineering", "--max-messages", "0")
        assert bad.returncode != 0
        assert "retention" in bad.stderr
    finally:
        Bus(settings).start().destroy()

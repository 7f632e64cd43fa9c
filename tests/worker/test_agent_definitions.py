"""Declaring agents and choosing which a worker hosts."""

from __future__ import annotations

import importlib

import pytest

from bus import ConfigurationError, InvalidArgument, InvalidName, Message
from bus.worker import Agent, load_agents

router = Agent("router-test", channels=["#engineering", "#design"])
seen: list[str] = []


@router.on("question", channel="#engineering", min_priority="high")
def urgent_engineering_question(message: Message, ctx: object) -> None:
    seen.append("urgent")


@router.on()
def anything_on_my_channels(message: Message, ctx: object) -> None:
    seen.append("any")


@router.on_direct("delegation")
def delegated(message: Message, ctx: object) -> None:
    seen.append("dm")


def _names(message: Message) -> list[str]:
    return [handler.__name__ for handler in router.handlers_for(message)]


def test_handlers_match_by_channel_type_priority_and_directness() -> None:
    urgent = Message(
        channel="#engineering", sender="a", content="?", type="question", priority="urgent"
    )
    low = Message(channel="#engineering", sender="a", content="?", type="question", priority="low")
    design = Message(channel="#design", sender="a", content="?", type="question", priority="urgent")
    direct = Message(recipient="router-test", sender="a", content="do it", type="delegation")
    other_dm = Message(recipient="router-test", sender="a", content="hi", type="question")
    assert _names(urgent) == ["urgent_engineering_question", "anything_on_my_channels"]
    assert _names(low) == ["anything_on_my_channels"]
    assert _names(design) == ["anything_on_my_channels"]
    assert _names(direct) == ["delegated"]
    assert _names(other_dm) == []


def test_a_worker_hosts_only_the_agents_its_modules_define() -> None:
    importlib.import_module("bench.harness.solo_agents")  # defines other agents in this process
    hosted = load_agents(["tests.helpers.recorder_agents"])
    assert sorted(hosted) == ["rec-a", "rec-b"]
    assert sorted(load_agents(["tests.helpers.recorder_agents"], ["rec-b"])) == ["rec-b"]


def test_naming_an_agent_the_modules_do_not_define_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="ghost") as caught:
        load_agents(["tests.helpers.recorder_agents"], ["rec-a", "ghost"])
    assert caught.value.context["agents"] == ["ghost"]


def test_an_agent_module_that_cannot_be_imported_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="no_such_agents_module") as caught:
        load_agents(["tests.no_such_agents_module"])
    assert caught.value.context["module"] == "tests.no_such_agents_module"


def test_two_agents_of_one_name_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="defined twice"):
        Agent("router-test")


def test_bad_names_and_filters_are_refused() -> None:
    with pytest.raises(InvalidName):
        Agent("no spaces please")
    with pytest.raises(InvalidName):
        Agent("fine-name", channels=["bad channel"])
    with pytest.raises(InvalidArgument, match="gossip"):
        router.on("gossip")
    with pytest.raises(InvalidArgument):
        router.on_direct(min_priority="whenever")

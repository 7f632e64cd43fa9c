"""Declaring agents, the registries they belong to, and choosing which a worker hosts."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest

from bus import ConfigurationError, InvalidArgument, InvalidName, Message
from bus.broker.deliveries import create_app
from bus.testing import settings_for
from bus.worker import Agent, AgentRegistry, install, load_agents

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


def test_two_agents_of_one_name_in_one_registry_are_refused() -> None:
    agents = AgentRegistry([router])
    agents.add(router)  # the same agent again: nothing happens
    with pytest.raises(ConfigurationError, match="defined twice") as caught:
        agents.agent("router-test")
    assert caught.value.context["agent"] == "router-test"
    assert list(agents) == ["router-test"]


def test_two_registries_of_one_process_may_each_have_an_agent_of_one_name() -> None:
    first, second = AgentRegistry(), AgentRegistry()
    alice_here = first.agent("alice", channels=["#engineering"])
    alice_there = second.agent("alice", channels=["#design"])
    assert first["alice"] is alice_here
    assert second["alice"] is alice_there
    settings = settings_for("memory")
    hostings = [install(create_app(settings), settings, agents) for agents in (first, second)]
    assert [hosting.agents["alice"].channels for hosting in hostings] == [
        ("#engineering",),
        ("#design",),
    ]
    for hosting in hostings:
        hosting.close()


def test_an_installed_registry_refuses_later_agents_rather_than_host_them_without_a_queue() -> None:
    agents = AgentRegistry()
    settings = settings_for("memory")
    install(create_app(settings), settings, agents).close()
    with pytest.raises(ConfigurationError, match="install"):
        agents.agent("latecomer")


def test_loading_a_module_twice_gives_the_same_agents_to_two_registries() -> None:
    first = load_agents(["tests.helpers.recorder_agents"])
    second = load_agents(["tests.helpers.recorder_agents"])
    assert first is not second
    assert list(first) == list(second) == ["rec-a", "rec-b"]
    assert all(first[name] is second[name] for name in first)
    again = AgentRegistry()
    again.load("workers.company")
    assert again.load("workers.company") == list(again.values())  # twice into one: no error


def test_a_module_that_defines_no_agent_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match=r"tests\.helpers\.no_agents") as caught:
        load_agents(["tests.helpers.no_agents"])
    assert caught.value.context["module"] == "tests.helpers.no_agents"
    assert "defines no agent" in str(caught.value)


def test_a_module_holding_two_agents_of_one_name_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = ModuleType("tests.two_alices")
    module.first, module.second = Agent("alice"), Agent("alice")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with pytest.raises(ConfigurationError, match=r"'tests\.two_alices' defines agent 'alice'"):
        load_agents([module.__name__])


def test_bad_names_and_filters_are_refused() -> None:
    with pytest.raises(InvalidName):
        Agent("no spaces please")
    with pytest.raises(InvalidName):
        Agent("fine-name", channels=["bad channel"])
    with pytest.raises(InvalidArgument, match="'Gossip!' is not a message type"):
        router.on("Gossip!")
    with pytest.raises(InvalidArgument):
        router.on_direct(min_priority="whenever")

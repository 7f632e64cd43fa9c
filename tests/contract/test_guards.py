"""The guards on every transport (issue 23): a flood cut by its pair's circuit while other
pairs go on, closed again after the cool-down; an overloaded agent's direct messages refused
and a channel's overflow policy applied to it, with nothing accepted lost; a reply to a waiting
request guarded as any direct message, its refusal raised to the requester at once; an agent's
own max_pending kept on channels with the bus-level one off."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bus import (
    AgentOverloaded,
    BudgetExceeded,
    Bus,
    BusError,
    CircuitOpen,
    DeliveryState,
    HopLimitExceeded,
)
from bus.channels import ChannelSpec, Overflow
from bus.message import build_message
from bus.publishing.limits import checks_for
from bus.settings import BusSettings
from bus.worker import AgentLimits
from tests.brokers import settings_for
from tests.worker.harness import wait_for


@pytest.fixture
def settings(transport: str) -> BusSettings:
    return settings_for(
        transport,
        pair_rate=20.0,
        pair_burst=30,
        pair_cooldown=0.5,
        guard_events_channel="#guard-events",
    )


@pytest.fixture
def guarded(settings: BusSettings) -> Iterator[Bus]:
    with Bus(settings) as bus:
        bus.create_channel("#guard-events")
        for agent in ("flooder", "victim", "ann", "bob", "slow", "fast"):
            bus.register_agent(agent)
        yield bus
        bus.destroy()


def test_a_flood_to_one_agent_is_cut_by_its_circuit_while_others_talk(guarded: Bus) -> None:
    def flood() -> int:
        sent = 0
        for _ in range(10_000):
            guarded.send("victim", "again", sender="flooder")
            sent += 1
            if sent % 10 == 0:  # two other agents' exchange, at a sane rate, alongside
                guarded.send("bob", "hi", sender="ann")
                guarded.send("ann", "hi", sender="bob")
        return sent

    with pytest.raises(CircuitOpen) as cut:
        flood()
    sent = len(guarded.direct_history("victim"))
    assert cut.value.opened
    assert (cut.value.sender, cut.value.target) == ("flooder", "victim")
    assert sent >= 30  # the burst, and what the rate refilled meanwhile
    assert [(c.sender, c.target) for c in guarded.store.guards.circuits()] == [
        ("flooder", "victim")
    ]
    guarded.send("victim", "from ann", sender="ann")  # another pair to the same agent: open
    guarded.send("bob", "still", sender="ann")
    with pytest.raises(CircuitOpen):
        guarded.send("victim", "again", sender="flooder")
    # Nothing refused was stored: the flooder's sent messages and ann's are all there.
    assert len(guarded.direct_history("victim")) == sent + 1

    def trial_closes() -> bool:
        try:
            guarded.send("victim", "calm now", sender="flooder")
        except CircuitOpen:
            return False
        return True

    wait_for(trial_closes, 10, "the circuit's cool-down", interval=0.1)
    assert guarded.store.guards.circuits() == []
    events = guarded.history("#guard-events")
    assert [event.content for event in events] == [
        "circuit opened: flooder -> victim",
        "circuit closed: flooder -> victim",
    ]
    assert events[0].metadata.extra == {"state": "opened", "sender": "flooder", "target": "victim"}


def test_an_overloaded_agent_refuses_direct_messages_and_channels_apply_their_overflow(
    guarded: Bus,
) -> None:
    guarded.create_channel("#noted")
    guarded.create_channel("#strict")
    guarded.update_channel("#strict", overflow=Overflow.REJECT_PUBLISH)
    for channel in ("#noted", "#strict"):
        guarded.subscribe("slow", channel)
        guarded.subscribe("fast", channel)
    guarded.store.guards.set_limits("slow", AgentLimits(max_pending=5))  # as Agent(limits=)
    accepted = [guarded.send("slow", f"dm {n}", sender="ann") for n in range(5)]
    with pytest.raises(AgentOverloaded) as refused:
        guarded.send("slow", "one too many", sender="ann")
    assert (refused.value.agent, refused.value.pending, refused.value.limit) == ("slow", 5, 5)
    with pytest.raises(AgentOverloaded):
        guarded.request("slow", "are you there?", sender="ann", timeout=1)
    with pytest.raises(AgentOverloaded):
        guarded.publish("#strict", "strict", sender="ann")
    noted = guarded.publish("#noted", "noted", sender="ann")
    status = guarded.status(noted.id)
    assert status.members["slow"].state is DeliveryState.QUEUED
    assert "overloaded" in (status.members["slow"].error or "")
    assert status.members["fast"].error is None
    # Nothing accepted is lost: slow reads every DM it was sent and the noted post (streams
    # interleave by append time), then is not overloaded any more.
    got = [guarded.receive("slow", timeout=5) for _ in range(len(accepted) + 1)]
    contents = [m.content for m in got if m is not None]
    assert [c for c in contents if c.startswith("dm ")] == [m.content for m in accepted]
    assert sorted(contents) == sorted([*(m.content for m in accepted), "noted"])
    guarded.send("slow", "now it fits", sender="ann")


def test_a_channel_s_own_hop_limit_replaces_the_setting(guarded: Bus) -> None:
    guarded.create_channel("#tight")
    guarded.update_channel("#tight", max_hops=2)
    guarded.publish("#tight", "fine", sender="ann", hops=2)
    with pytest.raises(HopLimitExceeded) as refused:
        guarded.publish("#tight", "too deep", sender="ann", hops=3)
    assert refused.value.limit == 2
    guarded.update_channel("#tight", max_hops=0)  # the setting's (32) again
    guarded.publish("#tight", "deep is fine here", sender="ann", hops=3)
    assert len(guarded.history("#tight")) == 2


def test_only_records_and_guard_events_are_exempt_from_the_guards() -> None:
    settings = BusSettings(guard_events_channel="#guard-events")
    dm = build_message(recipient="bob", content="hi", sender="ann")
    assert checks_for(BusSettings(), dm, None) is not None
    for exempt in (settings.dead_letter_channel, "#guard-events"):
        record = build_message(channel=exempt, content="x", sender="bus")
        assert checks_for(settings, record, ChannelSpec(name=exempt)) is None


def answered(bus: Bus, responder: str, **fields: object) -> tuple[threading.Thread, list[BusError]]:
    """A thread in which ``responder`` replies to the next request it receives, and what its
    reply raised."""
    raised: list[BusError] = []

    def answer() -> None:
        asked = bus.receive(responder, timeout=20)
        assert asked is not None
        try:
            bus.agent(responder).reply(asked, "pong", **fields)  # type: ignore[arg-type]
        except BusError as exc:
            raised.append(exc)

    thread = threading.Thread(target=answer)
    thread.start()
    return thread, raised


def test_a_reply_beyond_the_hop_limit_is_refused_and_the_requester_told_at_once(
    guarded: Bus,
) -> None:
    thread, raised = answered(guarded, "bob")
    with pytest.raises(HopLimitExceeded) as told:
        guarded.request("bob", "ping", sender="ann", timeout=60, hops=32)
    thread.join(20)
    assert [type(exc) for exc in raised] == [HopLimitExceeded]  # the responder's send too
    assert (told.value.sender, told.value.target) == ("bob", "ann")
    assert (told.value.hops, told.value.limit) == (33, 32)
    assert told.value.correlation_id is not None
    assert "reply" in str(told.value)
    assert guarded.direct_history("ann") == []  # nothing refused was stored anywhere
    thread, raised = answered(guarded, "bob")  # a reply within the limit still comes back
    assert guarded.request("bob", "ping", sender="ann", timeout=60).content == "pong"
    thread.join(20)
    assert raised == []


def test_a_reply_is_charged_to_its_sender_s_budget_and_refused_over_it(guarded: Bus) -> None:
    guarded.store.guards.set_limits("bob", AgentLimits(budget_tokens=10))
    thread, raised = answered(guarded, "bob", metadata={"tokens_used": 10})
    assert guarded.request("bob", "first", sender="ann", timeout=60).content == "pong"
    thread.join(20)
    assert raised == []
    window = int(guarded.settings.budget_window * 1000)
    assert guarded.store.guards.spending(window)["bob"].tokens == 10
    thread, raised = answered(guarded, "bob")
    with pytest.raises(BudgetExceeded) as told:
        guarded.request("bob", "second", sender="ann", timeout=60)
    thread.join(20)
    assert [type(exc) for exc in raised] == [BudgetExceeded]
    assert (told.value.agent, told.value.budget, told.value.spent) == ("bob", "tokens", 10)


def test_a_reply_passes_its_pair_s_circuit(transport: str) -> None:
    # One token per 100 s, a burst of 2: the third send of the pair opens its circuit.
    settings = settings_for(transport, pair_rate=0.01, pair_burst=2, pair_cooldown=60.0)
    with Bus(settings) as bus:
        for agent in ("ann", "bob"):
            bus.register_agent(agent)
        bus.send("ann", "one", sender="bob")
        bus.send("ann", "two", sender="bob")
        thread, raised = answered(bus, "bob")
        with pytest.raises(CircuitOpen) as told:
            bus.request("bob", "ping", sender="ann", timeout=60)
        thread.join(20)
        assert [type(exc) for exc in raised] == [CircuitOpen]
        assert (told.value.sender, told.value.target) == ("bob", "ann")
        assert [(c.sender, c.target) for c in bus.store.guards.circuits()] == [("bob", "ann")]
        bus.destroy()


def test_an_agent_s_own_max_pending_holds_on_channels_with_the_setting_off(
    transport: str,
) -> None:
    settings = settings_for(transport, max_pending=0, max_hops=0, pair_rate=0)
    with Bus(settings) as bus:
        bus.create_channel("#noted")
        bus.create_channel("#strict")
        bus.update_channel("#strict", overflow=Overflow.REJECT_PUBLISH)
        for agent in ("slow", "fast"):
            bus.register_agent(agent, channels=["#noted", "#strict"])
        first = bus.publish("#noted", "before any limit", sender="ann")
        bus.store.guards.set_limits("slow", AgentLimits(max_pending=2))  # as Agent(limits=)
        bus.publish("#strict", "second", sender="ann")
        with pytest.raises(AgentOverloaded) as refused:
            bus.publish("#strict", "third", sender="ann")
        assert (refused.value.agent, refused.value.pending, refused.value.limit) == ("slow", 2, 2)
        noted = bus.publish("#noted", "noted", sender="ann")
        assert "overloaded" in (bus.status(noted.id).members["slow"].error or "")
        assert bus.status(noted.id).members["fast"].error is None
        assert bus.status(first.id).members["slow"].error is None
        bus.store.guards.set_limits("slow", AgentLimits())  # forgotten: nothing checked
        bus.publish("#strict", "fits again", sender="ann")
        assert len(bus.history("#strict")) == 2
        bus.destroy()

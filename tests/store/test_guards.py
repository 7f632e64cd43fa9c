"""The guards part of the store contract: the checks an append decides in its own atomic step
(hop limit, pair circuits, budgets, pending counts), and the state they keep."""

from __future__ import annotations

import random
import time

import pytest

from bus.errors import AgentOverloaded, BudgetExceeded, CircuitOpen, HopLimitExceeded
from bus.store import Dedupe, Store, channel_stream, direct_stream
from bus.store.contracts.guards import AgentLimits, Checks
from tests.store.support import KEEP_ALL, NEWS, body, topic

BOB = direct_stream("bob")


def dm(store: Store, checks: Checks) -> int:
    return store.log.append(BOB, body("hi"), 1000, KEEP_ALL, checks=checks).seq


def test_a_message_beyond_the_hop_limit_is_refused_and_not_stored(store: Store) -> None:
    store.registry.register_agent("bob")
    assert dm(store, Checks("ann", "bob", hops=3, max_hops=3)) == 1
    with pytest.raises(HopLimitExceeded) as refused:
        dm(store, Checks("ann", "bob", hops=4, max_hops=3))
    assert (refused.value.hops, refused.value.limit, refused.value.sender) == (4, 3, "ann")
    store.guards.set_limits("ann", AgentLimits(max_hops=10))
    assert dm(store, Checks("ann", "bob", hops=4, max_hops=3)) == 2
    assert store.log.head(BOB) == 2


def test_a_flood_opens_the_pair_circuit_which_a_send_after_the_cool_down_closes(
    store: Store,
) -> None:
    store.registry.register_agent("bob")
    flood = Checks("ann", "bob", rate=0.001, burst=3, cooldown_ms=300)
    for _ in range(3):
        dm(store, flood)
    with pytest.raises(CircuitOpen) as opened:
        dm(store, flood)
    assert opened.value.opened
    assert opened.value.target == "bob"
    with pytest.raises(CircuitOpen) as still:
        dm(store, flood)
    assert not still.value.opened
    assert 0 < still.value.retry_after <= 0.3
    dm(store, Checks("cat", "bob", rate=0.001, burst=3, cooldown_ms=300))  # another pair
    assert [(c.sender, c.target, c.state) for c in store.guards.circuits()] == [
        ("ann", "bob", "open")
    ]
    deadline = time.monotonic() + 5
    while store.guards.circuits()[0].state == "open" and time.monotonic() < deadline:
        time.sleep(0.05)
    appended = store.log.append(BOB, body("trial"), 1000, KEEP_ALL, checks=flood)
    assert appended.closed
    assert store.guards.circuits() == []
    assert store.log.head(BOB) == 5  # 3 + cat's + the trial


def test_a_circuit_reset_closes_it(store: Store) -> None:
    store.registry.register_agent("bob")
    flood = Checks("ann", "bob", rate=0.001, burst=1, cooldown_ms=60_000)
    dm(store, flood)
    with pytest.raises(CircuitOpen):
        dm(store, flood)
    assert store.guards.reset_circuit("ann", "bob") is True
    assert dm(store, flood) == 2
    assert store.guards.reset_circuit("ann", "nobody") is False


def test_usage_is_charged_to_the_sender_and_a_spent_budget_refuses(store: Store) -> None:
    store.registry.register_agent("bob")
    dm(store, Checks("ann", "bob", budget_tokens=100, tokens=60))
    store.guards.charge("ann", 50, 0.5, 3_600_000)
    assert store.guards.spending(3_600_000)["ann"][:2] == (110, 0.5)
    with pytest.raises(BudgetExceeded) as refused:
        dm(store, Checks("ann", "bob", budget_tokens=100))
    assert (refused.value.budget, refused.value.spent, refused.value.limit) == ("tokens", 110, 100)
    store.guards.set_limits("ann", AgentLimits(budget_tokens=1000))
    dm(store, Checks("ann", "bob", budget_tokens=100))  # its own limit replaces the bus's
    with pytest.raises(BudgetExceeded):
        dm(store, Checks("ann", "bob", budget_cost=0.4))
    assert store.guards.limits()["ann"] == AgentLimits(budget_tokens=1000)


def test_cost_over_budget_is_refused(store: Store) -> None:
    store.registry.register_agent("bob")
    dm(store, Checks("ann", "bob", cost=2.5))
    with pytest.raises(BudgetExceeded) as refused:
        dm(store, Checks("ann", "bob", budget_cost=2.0))
    assert refused.value.budget == "cost"
    assert refused.value.spent == 2.5


def test_an_agent_over_max_pending_refuses_direct_messages(store: Store) -> None:
    store.registry.register_agent("bob")
    for _ in range(3):
        dm(store, Checks("ann", "bob", max_pending=3))
    with pytest.raises(AgentOverloaded) as refused:
        dm(store, Checks("ann", "bob", max_pending=3))
    assert (refused.value.agent, refused.value.pending, refused.value.limit) == ("bob", 3, 3)
    assert store.log.claim("bob", BOB) is not None
    assert dm(store, Checks("ann", "bob", max_pending=3)) == 4


def test_a_channel_refuses_or_notes_an_overloaded_member_by_its_overflow(store: Store) -> None:
    store.registry.create_channel(topic())
    for agent in ("bob", "cat"):
        store.registry.register_agent(agent)
        store.registry.subscribe(agent, "#news")
    store.guards.set_limits("bob", AgentLimits(max_pending=2))
    noted = Checks("ann", "#news", refuse_overloaded=False)
    first = store.log.append(NEWS, body("1"), 1000, KEEP_ALL, checks=noted)
    store.log.append(NEWS, body("2"), 1000, KEEP_ALL, checks=noted)
    third = store.log.append(NEWS, body("3"), 1000, KEEP_ALL, checks=noted, message_id="m3")
    assert first.overloaded == []
    assert third.overloaded == ["bob"]
    assert sorted(third.recipients) == ["bob", "cat"]
    facts = store.receipts.facts("m3")
    assert facts is not None
    assert facts.notes["bob"].kind == "overloaded"
    assert "cat" not in facts.notes
    with pytest.raises(AgentOverloaded):
        store.log.append(NEWS, body("4"), 1000, KEEP_ALL, checks=Checks("ann", "#news"))
    assert store.log.head(NEWS) == 3


def test_guards_keep_coalesced_wakes_and_idempotency_as_they_were(store: Store) -> None:
    store.registry.create_channel(topic())
    store.registry.register_agent("bob")
    store.registry.subscribe("bob", "#news")
    checks = Checks("ann", "#news", max_hops=5, rate=100.0, burst=10, max_pending=100)
    first = store.log.append(NEWS, body("1"), 1000, KEEP_ALL, coalesce=True, checks=checks)
    second = store.log.append(NEWS, body("2"), 1000, KEEP_ALL, coalesce=True, checks=checks)
    assert (first.seq, first.recipients, first.woken) == (1, ["bob"], ["bob"])
    assert (second.seq, second.woken) == (2, [])
    key = Dedupe("k", 60_000)
    again = [
        store.log.append(NEWS, body("3"), 1000, KEEP_ALL, dedupe=key, checks=checks)
        for _ in range(2)
    ]
    assert [appended.seq for appended in again] == [3, 3]
    assert again[1].duplicate


def test_every_append_refuses_exactly_when_a_recipient_s_pending_count_reached_its_limit(
    store: Store,
) -> None:
    # Appends to a member's channels and inbox, its reads, leaving and joining a channel, its
    # own limit changing: whatever moved the count, the refusal follows the true count (Redis
    # counts again only the members its unread bound cannot clear: this checks the bound).
    rng = random.Random(23)
    streams = {"#news": NEWS, "#ops": channel_stream("#ops")}
    for name in streams:
        store.registry.create_channel(topic(name))
    for agent in ("bob", "cat"):
        store.registry.register_agent(agent)
        for name in streams:
            store.registry.subscribe(agent, name)
    limit, refusals = 6, 0
    for step in range(400):
        action = rng.choice(["#news", "#ops", "dm", "dm", "read", "read", "read", "membership"])
        agent = rng.choice(["bob", "cat"])
        if action == "read":
            store.log.claim(agent, rng.choice([*streams.values(), direct_stream(agent)]))
        elif action == "membership":
            if store.registry.unsubscribe("cat", "#ops"):
                continue
            store.registry.subscribe("cat", "#ops")
            store.guards.set_limits("cat", AgentLimits(max_pending=rng.choice([None, 3, 9])))
        else:
            stream = direct_stream(agent) if action == "dm" else streams[action]
            audience = [agent] if action == "dm" else store.registry.members(action)
            over = any(
                sum(lag.head - lag.position for lag in store.leases.backlog(member))
                >= (store.guards.limits().get(member, AgentLimits()).max_pending or limit)
                for member in audience
            )
            target = agent if action == "dm" else action
            try:
                store.log.append(
                    stream,
                    body(str(step)),
                    1000,
                    KEEP_ALL,
                    checks=Checks("ann", target, max_pending=limit),
                )
                refused = False
            except AgentOverloaded:
                refused, refusals = True, refusals + 1
            assert refused == over, f"step {step}: {action} to {audience}"
    assert refusals > 20  # the limit was reached often, not only once

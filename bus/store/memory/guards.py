"""The guards part of :class:`~bus.store.memory.MemoryStore` (see
:class:`~bus.store.contracts.guards.GuardStore`), and the checks the log's append runs under
the store's lock (:func:`run_checks`), as ``append.lua``'s guard block does on Redis."""

from __future__ import annotations

import time

from bus.store.contracts.guards import (
    AgentLimits,
    Checks,
    Circuit,
    GuardStore,
    Spend,
    guard_refusal,
    window_start,
)
from bus.store.memory.tables import MemoryTables

#: An agent that set no limits of its own.
NO_LIMITS = AgentLimits()


def clock_ms() -> int:
    """The guards' clock (epoch ms), as Redis's TIME is the script's."""
    return int(time.time() * 1000)


def _pending(tables: MemoryTables, agent: str) -> int:
    """Messages stored after the agent's position, over every stream it reads."""
    logs, pending = tables.logs, 0
    for stream, seq in tables.positions[agent].items():
        log = logs.get(stream)
        if log is not None:
            pending += log.head - seq
    return pending


def _bucket(tables: MemoryTables, checks: Checks, now_ms: int) -> tuple[float, bool]:
    """The pair's tokens now and whether this send is the trial after a cool-down; refuses
    while its circuit is open."""
    key = (checks.sender, checks.target)
    tokens, last, until = tables.circuits.get(key, (float(checks.burst), now_ms, 0))
    if until and now_ms < until:
        raise guard_refusal(checks, "circuit", (until - now_ms) / 1000, 0)
    if until:
        return float(checks.burst), True
    return min(float(checks.burst), tokens + max(0, now_ms - last) * checks.rate / 1000), False


def _spent(tables: MemoryTables, checks: Checks, own: AgentLimits, start: int) -> tuple[int, float]:
    """The sender's spend in the window starting at ``start``; refuses it over budget."""
    window, tokens, cost = tables.spend.get(checks.sender, (start, 0, 0.0))
    if window != start:
        tokens, cost = 0, 0.0
    token_limit = checks.budget_tokens if own.budget_tokens is None else own.budget_tokens
    if token_limit and tokens >= token_limit:
        raise guard_refusal(checks, "tokens", tokens, token_limit)
    cost_limit = checks.budget_cost if own.budget_cost is None else own.budget_cost
    if cost_limit and cost >= cost_limit:
        raise guard_refusal(checks, "cost", cost, cost_limit)
    return tokens, cost


def _overloaded(
    tables: MemoryTables, checks: Checks, recipients: list[str], direct: bool
) -> dict[str, tuple[int, int]]:
    """The recipients over their ``max_pending`` to note; refuses if one must not be. With
    the bus-level max_pending off, only the members with their own are looked at."""
    overloaded = {}
    if not checks.max_pending and not direct:
        limited = [agent for agent, own in tables.limits.items() if own.max_pending]
        members = set(recipients) if limited else set()
        recipients = [agent for agent in limited if agent in members]
    for agent in recipients:
        mine = tables.limits.get(agent, NO_LIMITS).max_pending
        limit = checks.max_pending if mine is None else mine
        if limit and (pending := _pending(tables, agent)) >= limit:
            if direct or checks.refuse_overloaded:
                raise guard_refusal(checks, "overloaded", pending, limit, agent=agent)
            overloaded[agent] = (pending, limit)
    return overloaded


def run_checks(
    tables: MemoryTables, checks: Checks, recipients: list[str], direct: bool, now_ms: int
) -> tuple[dict[str, tuple[int, int]], bool]:
    """Decide an append's guards (the caller holds the lock, nothing is stored yet): raise the
    refusal, or return the channel members to note overloaded (agent -> (pending, limit)) and
    whether this send closed its pair's circuit. The bucket and the spend are written only
    when the append goes ahead, except an emptied bucket's opening."""
    own = tables.limits.get(checks.sender, NO_LIMITS)
    max_hops = checks.max_hops if own.max_hops is None else own.max_hops
    if max_hops and checks.hops > max_hops:
        raise guard_refusal(checks, "hops", checks.hops, max_hops)
    tokens, trial = _bucket(tables, checks, now_ms) if checks.rate else (0.0, False)
    start = window_start(now_ms, checks.window_ms)
    spent_tokens, spent_cost = _spent(tables, checks, own, start)
    overloaded = _overloaded(tables, checks, recipients, direct)
    if checks.rate:
        key = (checks.sender, checks.target)
        if tokens < 1:
            tables.circuits[key] = (tokens, now_ms, now_ms + checks.cooldown_ms)
            raise guard_refusal(checks, "circuit", checks.cooldown_ms / 1000, 1)
        tables.circuits[key] = (tokens - 1, now_ms, 0)
    if checks.tokens or checks.cost:
        tables.spend[checks.sender] = (
            start,
            spent_tokens + checks.tokens,
            spent_cost + checks.cost,
        )
    return overloaded, trial


class MemoryGuards(GuardStore):
    """Circuits, spend and agents' own limits in memory.

    Args:
        tables: The store's state.
    """

    def __init__(self, tables: MemoryTables) -> None:
        self._tables = tables

    def set_limits(self, agent: str, limits: AgentLimits) -> None:
        with self._tables.lock:
            if limits == AgentLimits():
                self._tables.limits.pop(agent, None)
            else:
                self._tables.limits[agent] = limits

    def limits(self) -> dict[str, AgentLimits]:
        with self._tables.lock:
            return dict(self._tables.limits)

    def circuits(self) -> list[Circuit]:
        now_ms = clock_ms()
        with self._tables.lock:
            return [
                Circuit(sender, target, "open" if now_ms < until else "half-open", until)
                for (sender, target), (_, _, until) in sorted(self._tables.circuits.items())
                if until
            ]

    def reset_circuit(self, sender: str, target: str) -> bool:
        with self._tables.lock:
            found = self._tables.circuits.pop((sender, target), None)
            return found is not None and found[2] > 0

    def charge(self, agent: str, tokens: int, cost: float, window_ms: int) -> Spend:
        start = window_start(clock_ms(), window_ms)
        with self._tables.lock:
            window, spent, paid = self._tables.spend.get(agent, (start, 0, 0.0))
            if window != start:
                spent, paid = 0, 0.0
            self._tables.spend[agent] = (start, spent + tokens, paid + cost)
            return Spend(spent + tokens, paid + cost, start)

    def spending(self, window_ms: int) -> dict[str, Spend]:
        start = window_start(clock_ms(), window_ms)
        with self._tables.lock:
            return {
                agent: Spend(tokens, cost, window)
                for agent, (window, tokens, cost) in sorted(self._tables.spend.items())
                if window == start
            }

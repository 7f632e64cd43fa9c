"""The guards part of :class:`~bus.store.redis.RedisStore` (see
:class:`~bus.store.contracts.guards.GuardStore`): three hashes (circuits, spend, limits) that
``lua/guards.lua`` reads and writes in the append step; :func:`checks_arg` and
:func:`guard_outcome` are the log's side of that block."""

from __future__ import annotations

from typing import cast

from redis.exceptions import ResponseError

from bus.store.contracts.guards import (
    AgentLimits,
    Checks,
    Circuit,
    GuardStore,
    Spend,
    refused,
    window_start,
)
from bus.store.redis.namespace import RedisNamespace


def checks_args(checks: Checks | None) -> list[object]:
    """The append script's ARGV[17] to ARGV[30] for ``checks`` (see ``lua/guards.lua``)."""
    if checks is None:
        return [""] * len(Checks("", ""))
    return [1 if value is True else 0 if value is False else value for value in checks]


def guard_outcome(reply: str) -> tuple[list[str], bool]:
    """The overloaded members and whether the circuit closed, from the reply's last element."""
    closed, *members = reply.split("\n")
    return [member for member in members if member], closed == "1"


def guard_error(exc: ResponseError, checks: Checks | None) -> Exception | None:
    """The guards' refusal an append script answered, if it is one."""
    return None if checks is None else refused(checks, str(exc))


def own_max_pending(raw: str) -> bool:
    """Whether an agent's limits (as the limits hash holds them) set a max_pending above 0:
    such agents are checked on a channel even with the bus-level max_pending off."""
    words = raw.split(" ")
    return len(words) > 1 and words[1] != "-" and int(words[1]) > 0


def _limits(raw: str) -> AgentLimits:
    hops, pending, tokens, cost = (None if word == "-" else word for word in raw.split(" "))
    return AgentLimits(
        None if hops is None else int(hops),
        None if pending is None else int(pending),
        None if tokens is None else int(tokens),
        None if cost is None else float(cost),
    )


class RedisGuards(GuardStore):
    """Circuits, spend and agents' own limits in Redis.

    Args:
        space: The store's namespace on its server.
    """

    def __init__(self, space: RedisNamespace) -> None:
        self._space = space
        self._redis = space.client
        self._keys = space.keys

    def _now_ms(self) -> int:
        seconds, micros = self._redis.time()
        return int(seconds) * 1000 + int(micros) // 1000

    def set_limits(self, agent: str, limits: AgentLimits) -> None:
        if limits == AgentLimits():
            self._redis.hdel(self._keys.limits, agent)
            return
        raw = " ".join("-" if value is None else str(value) for value in limits)
        self._redis.hset(self._keys.limits, agent, raw)

    def limits(self) -> dict[str, AgentLimits]:
        found = cast(dict[str, str], self._redis.hgetall(self._keys.limits))
        return {agent: _limits(raw) for agent, raw in sorted(found.items())}

    def circuits(self) -> list[Circuit]:
        now_ms = self._now_ms()
        found = cast(dict[str, str], self._redis.hgetall(self._keys.circuits))
        circuits = []
        for pair, raw in sorted(found.items()):
            until = int(float(raw.split(" ")[2]))
            if until:
                sender, target = pair.split("\n", 1)
                state = "open" if now_ms < until else "half-open"
                circuits.append(Circuit(sender, target, state, until))
        return circuits

    def reset_circuit(self, sender: str, target: str) -> bool:
        pair = f"{sender}\n{target}"
        raw = cast(str | None, self._redis.hget(self._keys.circuits, pair))
        self._redis.hdel(self._keys.circuits, pair)
        return raw is not None and int(float(raw.split(" ")[2])) > 0

    def charge(self, agent: str, tokens: int, cost: float, window_ms: int) -> Spend:
        raw = self._space.run("charge", [self._keys.spend], [agent, tokens, cost, window_ms])
        start, spent, paid = str(raw).split(" ")
        return Spend(int(float(spent)), float(paid), int(float(start)))

    def spending(self, window_ms: int) -> dict[str, Spend]:
        start = window_start(self._now_ms(), window_ms)
        found = cast(dict[str, str], self._redis.hgetall(self._keys.spend))
        spends = {}
        for agent, raw in sorted(found.items()):
            window, spent, paid = raw.split(" ")
            if int(float(window)) == start:
                spends[agent] = Spend(int(float(spent)), float(paid), start)
        return spends

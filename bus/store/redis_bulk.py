"""The bulk registry operations of :class:`~bus.store.redis.RedisStore`: one Lua call (one
round trip) per batch of agents or subscriptions, and one pipelined read for the checks that
make repeated registrations cheap.

Batches are bounded (:data:`BATCH`) so no script holds Redis for long: each runs in well under
a millisecond per hundred agents, and other clients' commands run between batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from bus.channels import Stream
from bus.store.client import StoreClient
from bus.store.keys import Keys

#: Agents or subscriptions per script call.
BATCH = 500
#: What a script answers when the keys it was given are out of date.
_STALE = -1


class RedisBulk:
    """Mixed into :class:`~bus.store.redis.RedisStore` (which provides the attributes)."""

    _redis: StoreClient
    _keys: Keys

    def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        raise NotImplementedError  # RedisStore's

    def register_agents(self, agents: Sequence[str]) -> list[bool]:
        results: list[bool] = []
        for start in range(0, len(agents), BATCH):
            results.extend(self._register_batch(agents[start : start + BATCH]))
        return results

    def _register_batch(self, agents: Sequence[str]) -> list[bool]:
        keys = self._keys
        result: Any = _STALE
        while result == _STALE:
            channels = sorted(cast(set[str], self._redis.smembers(keys.broadcast)))
            result = self._run(
                "register_agents",
                [keys.agents, keys.heads, keys.broadcast]
                + [keys.members(channel) for channel in channels]
                + [keys.positions(agent) for agent in agents],
                [
                    len(channels),
                    *(arg for ch in channels for arg in (ch, Stream.of_channel(ch).id)),
                    *(arg for agent in agents for arg in (agent, Stream.of_inbox(agent).id)),
                ],
            )
        return [bool(int(flag)) for flag in result]

    def registered(self, agents: Sequence[str]) -> list[bool]:
        if not agents:
            return []
        flags = cast(list[int], self._redis.smismember(self._keys.agents, list(agents)))
        return [bool(flag) for flag in flags]

    def subscribe_many(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        keys = self._keys
        results: list[bool] = []
        for start in range(0, len(pairs), BATCH):
            batch = pairs[start : start + BATCH]
            flags = self._run(
                "subscribe_many",
                [keys.heads]
                + [key for agent, ch in batch for key in (keys.members(ch), keys.positions(agent))],
                [arg for agent, ch in batch for arg in (agent, Stream.of_channel(ch).id)],
            )
            results.extend(bool(int(flag)) for flag in flags)
        return results

    def subscriptions_of(self, agents: Sequence[str]) -> dict[str, set[str]]:
        # An agent's positions hash names every stream it reads: its channels and its inbox.
        pipe = self._redis.pipeline(transaction=False)
        for agent in agents:
            pipe.hkeys(self._keys.positions(agent))
        found: dict[str, set[str]] = {}
        for agent, streams in zip(agents, pipe.execute(), strict=True):
            found[agent] = {
                channel for stream in streams if (channel := Stream(stream).channel) is not None
            }
        return found

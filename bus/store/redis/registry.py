"""The registry part of :class:`~bus.store.redis.RedisStore` (see
:class:`~bus.store.contracts.registry.RegistryStore`): channels, agents, memberships.

The scripts that span an unknown number of keys (a broadcast channel's agents, an agent's
broadcast channels) are given them by the caller, re-check them, and ask for a retry when they
changed.

The bulk operations take one script call (one round trip) per batch of agents or subscriptions,
and one pipelined read for the checks that make repeated registrations cheap. Batches are
bounded (:data:`BATCH`) so no script holds Redis for long: each runs in well under a millisecond
per hundred agents, and other clients' commands run between batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from redis.exceptions import ResponseError

from bus.channels import ChannelKind, ChannelSpec, Stream
from bus.errors import channel_exists
from bus.store.contracts.registry import RegistryStore
from bus.store.redis.namespace import STALE, RedisNamespace, refusal

#: Agents or subscriptions per script call.
BATCH = 500


class RedisRegistry(RegistryStore):
    """Channels, agents and memberships in Redis.

    Args:
        space: The store's namespace on its server.
    """

    def __init__(self, space: RedisNamespace) -> None:
        self._redis = space.client
        self._keys = space.keys
        self._run = space.run

    def create_channel(self, spec: ChannelSpec) -> bool:
        keys, stream = self._keys, Stream.of_channel(spec.name).id
        broadcast = spec.kind is ChannelKind.BROADCAST
        result: Any = STALE
        while result == STALE:
            agents = sorted(cast(set[str], self._redis.smembers(keys.agents))) if broadcast else []
            result = self._run(
                "create_channel",
                [keys.channels, keys.broadcast, keys.agents, keys.heads, keys.members(spec.name)]
                + [keys.positions(agent) for agent in agents],
                [spec.name, spec.model_dump_json(), "1" if broadcast else "0", stream, *agents],
            )
        if isinstance(result, str):
            existing = ChannelSpec.model_validate_json(result)
            if existing.same_as(spec):
                return False
            raise channel_exists(existing)
        return bool(result)

    def update_channel(self, spec: ChannelSpec, replaces: int) -> bool:
        keys, stream = self._keys, Stream.of_channel(spec.name).id
        broadcast = spec.kind is ChannelKind.BROADCAST
        result: Any = STALE
        while result == STALE:
            agents = sorted(cast(set[str], self._redis.smembers(keys.agents))) if broadcast else []
            try:
                result = self._run(
                    "update_channel",
                    [
                        keys.channels,
                        keys.broadcast,
                        keys.agents,
                        keys.heads,
                        keys.members(spec.name),
                    ]
                    + [keys.positions(agent) for agent in agents],
                    [spec.name, spec.model_dump_json(), replaces, int(broadcast), stream, *agents],
                )
            except ResponseError as exc:
                raise refusal(exc, spec) from None
        return bool(result)

    def get_channel(self, name: str) -> ChannelSpec | None:
        raw = cast(str | None, self._redis.hget(self._keys.channels, name))
        return None if raw is None else ChannelSpec.model_validate_json(raw)

    def list_channels(self) -> list[ChannelSpec]:
        raw = cast(dict[str, str], self._redis.hgetall(self._keys.channels))
        return [ChannelSpec.model_validate_json(raw[name]) for name in sorted(raw)]

    def register_agent(self, agent: str) -> bool:
        keys = self._keys
        result = STALE
        while result == STALE:
            channels = sorted(cast(set[str], self._redis.smembers(keys.broadcast)))
            result = int(
                self._run(
                    "register_agent",
                    [keys.agents, keys.positions(agent), keys.heads, keys.broadcast]
                    + [keys.members(channel) for channel in channels],
                    [
                        agent,
                        Stream.of_inbox(agent).id,
                        *(arg for ch in channels for arg in (ch, Stream.of_channel(ch).id)),
                    ],
                )
            )
        return bool(result)

    def unregister_agent(self, agent: str) -> list[str] | None:
        keys = self._keys
        result: Any = [STALE]
        while result[0] == STALE:
            streams = sorted(cast(list[str], self._redis.hkeys(keys.positions(agent))))
            keys_of, args = [keys.agents, keys.positions(agent), keys.failures(agent)], [agent]
            for stream in streams:
                channel = Stream(stream).channel
                keys_of += [
                    keys.members(channel) if channel is not None else keys.agents,
                    keys.lease(agent, stream),
                    keys.signals(stream),
                    keys.started(stream),
                ]
                args += [stream, channel or ""]
            result = self._run("unregister_agent", keys_of, args)
        if int(result[0]) == 0:
            return None
        return sorted(str(channel) for channel in result[1:])

    def is_agent(self, agent: str) -> bool:
        return bool(self._redis.sismember(self._keys.agents, agent))

    def agents(self) -> list[str]:
        return sorted(cast(set[str], self._redis.smembers(self._keys.agents)))

    def subscribe(self, agent: str, channel: str) -> bool:
        keys = self._keys
        return bool(
            self._run(
                "subscribe",
                [keys.members(channel), keys.positions(agent), keys.heads],
                [agent, Stream.of_channel(channel).id],
            )
        )

    def unsubscribe(self, agent: str, channel: str) -> bool:
        keys = self._keys
        return bool(
            self._run(
                "unsubscribe",
                [
                    keys.members(channel),
                    keys.positions(agent),
                    keys.signals(Stream.of_channel(channel).id),
                ],
                [agent, Stream.of_channel(channel).id],
            )
        )

    def members(self, channel: str) -> list[str]:
        return sorted(cast(set[str], self._redis.smembers(self._keys.members(channel))))

    def subscriptions(self, agent: str) -> list[str]:
        streams = cast(list[str], self._redis.hkeys(self._keys.positions(agent)))
        return sorted(
            channel for stream in streams if (channel := Stream(stream).channel) is not None
        )

    # -- in bulk ----------------------------------------------------------------------------------

    def register_agents(self, agents: Sequence[str]) -> list[bool]:
        results: list[bool] = []
        for start in range(0, len(agents), BATCH):
            results.extend(self._register_batch(agents[start : start + BATCH]))
        return results

    def _register_batch(self, agents: Sequence[str]) -> list[bool]:
        keys = self._keys
        result: Any = STALE
        while result == STALE:
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

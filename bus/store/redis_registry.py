"""The registry half of :class:`~bus.store.redis.RedisStore`: channels, agents, memberships
(see :class:`~bus.store.base.Registry`). The scripts that span an unknown number of keys (a
broadcast channel's agents, an agent's broadcast channels) are given them by the caller,
re-check them, and ask for a retry when they changed."""

from __future__ import annotations

from typing import Any, cast

from redis.exceptions import ResponseError

from bus.channels import ChannelKind, ChannelSpec, Stream
from bus.errors import ChannelChanged, UnknownChannel, channel_exists, rejected
from bus.store.client import StoreClient
from bus.store.keys import Keys

#: What a script answers when the keys it was given are out of date.
_STALE = -1


class RedisRegistry:
    """Channels, agents and memberships in Redis; mixed into the store."""

    _keys: Keys
    _redis: StoreClient

    def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        raise NotImplementedError  # the store's

    def create_channel(self, spec: ChannelSpec) -> bool:
        keys, stream = self._keys, Stream.of_channel(spec.name).id
        broadcast = spec.kind is ChannelKind.BROADCAST
        result: Any = _STALE
        while result == _STALE:
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
        result: Any = _STALE
        while result == _STALE:
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
        result = _STALE
        while result == _STALE:
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


def refusal(exc: ResponseError, channel: ChannelSpec | None) -> Exception:
    """The error for an append the script refused."""
    text = str(exc)
    if channel is not None and text.startswith("BUSUNKNOWN"):
        return UnknownChannel(f"no channel named {channel.name!r}", channel=channel.name)
    if channel is not None and text.startswith("BUSCHANGED"):
        stored = ChannelSpec.model_validate_json(text[len("BUSCHANGED") :].strip())
        return ChannelChanged(
            f"channel {channel.name!r} changed to version {stored.version}",
            channel=channel.name,
            spec=stored,
        )
    if channel is not None and text.startswith("BUSREJECT"):
        return rejected(channel, text[len("BUSREJECT") :].strip().split(","))
    return exc

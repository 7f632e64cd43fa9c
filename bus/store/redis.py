"""The Redis store: shared by every process of a bus on Redis or RabbitMQ.

Every key is named by :class:`~bus.store.keys.Keys` (one hash tag per namespace, so the store
also runs on a Redis Cluster). Each operation that must be atomic is one Lua script
(:mod:`bus.store.scripts`), so it is also one round trip. The scripts that span an unknown
number of keys (a broadcast channel's agents, an agent's broadcast channels or streams) are
given them by the caller, re-check them, and ask for a retry when they changed.
"""

from __future__ import annotations

import threading
from typing import Any, cast

import redis

from bus.channels import ChannelKind, ChannelSpec, Retention
from bus.errors import ChannelExists
from bus.store.base import Store
from bus.store.keys import Keys
from bus.store.redis_bulk import RedisBulk
from bus.store.results import REPLY_KEEP_MS, Appended, Entry, Failure, Lag, Step
from bus.store.scripts import PRELUDES, source
from bus.streams import Stream

#: What a script answers when the keys it was given are out of date.
_STALE = -1


def _entry(stream: str, seq: Any, raw: str) -> Entry:
    """An :class:`Entry` from a log entry ``"<append ms>:<json>"``."""
    return Entry(stream, int(seq), raw[raw.index(":") + 1 :])


class RedisStore(RedisBulk, Store):
    """A :class:`~bus.store.base.Store` in Redis."""

    def __init__(self, url: str, namespace: str) -> None:
        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._keys = Keys(namespace)
        self._scripts = {name: self._redis.register_script(source(name)) for name in PRELUDES}
        #: agent -> the streams it read at its last claim_any: the keys that script needs.
        self._streams: dict[str, list[str]] = {}
        self._streams_lock = threading.Lock()

    def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        return self._scripts[script](keys=keys, args=args)

    def ping(self) -> None:
        self._redis.ping()

    def close(self) -> None:
        self._redis.close()

    def destroy(self) -> None:
        batch: list[str] = []
        for key in self._redis.scan_iter(match=self._keys.pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self._redis.delete(*batch)
                batch.clear()
        if batch:
            self._redis.delete(*batch)
        with self._streams_lock:
            self._streams.clear()

    # -- registry -------------------------------------------------------------------------------

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
            raise ChannelExists(
                f"channel {spec.name!r} exists as {existing.kind} with {existing.retention}",
                channel=spec.name,
            )
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
                [keys.members(channel), keys.positions(agent)],
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

    # -- log ------------------------------------------------------------------------------------

    def append(self, stream: str, body: str, now_ms: int, retention: Retention) -> Appended:
        keys, max_age = self._keys, retention.max_age_seconds
        parsed = Stream(stream)
        owner = parsed.owner
        recipients_key = (
            keys.agents if owner is not None else keys.members(cast(str, parsed.channel))
        )
        seq, *members = self._run(
            "append",
            [keys.heads, keys.log(stream), recipients_key],
            [
                stream,
                body,
                now_ms,
                retention.max_messages,
                "" if max_age is None else int(max_age * 1000),
                owner or "",
            ],
        )
        return Appended(int(seq), members)

    def history(
        self,
        stream: str,
        *,
        newest: int | None = None,
        after: int | None = None,
        since_ms: int | None = None,
    ) -> list[Entry]:
        found = self._run(
            "history",
            [self._keys.heads, self._keys.log(stream)],
            [stream, *("" if value is None else value for value in (after, since_ms, newest))],
        )
        if not found:
            return []
        first = int(found[0])
        return [_entry(stream, first + index, raw) for index, raw in enumerate(found[1:])]

    def head(self, stream: str) -> int:
        return int(cast(str | None, self._redis.hget(self._keys.heads, stream)) or 0)

    def retained(self, stream: str) -> int:
        return int(self._redis.llen(self._keys.log(stream)))

    def position(self, agent: str, stream: str) -> int | None:
        raw = cast(str | None, self._redis.hget(self._keys.positions(agent), stream))
        return None if raw is None else int(raw)

    def claim(self, agent: str, stream: str) -> Entry | None:
        keys = self._keys
        found = self._run("claim", [keys.positions(agent), keys.heads, keys.log(stream)], [stream])
        return None if found is None else _entry(stream, found[0], found[1])

    def claim_any(self, agent: str) -> Entry | None:
        keys = self._keys
        with self._streams_lock:
            streams = self._streams.get(agent, [])
        while True:
            found = self._run(
                "claim_any",
                [keys.positions(agent), keys.heads, *(keys.log(stream) for stream in streams)],
                streams,
            )
            if found is None:
                return None
            if int(found[0]) == 1:
                return _entry(found[1], found[2], found[3])
            # The agent's streams changed since they were cached: learn them and try again.
            streams = sorted(found[1:])
            with self._streams_lock:
                self._streams[agent] = streams

    # -- leases ---------------------------------------------------------------------------------

    def _step(self, script: str, agent: str, stream: str, args: list[Any]) -> Step:
        keys = self._keys
        reply = self._run(
            script,
            [
                keys.lease(agent, stream),
                keys.positions(agent),
                keys.heads,
                keys.log(stream),
                keys.failures(agent),
            ],
            [stream, *args],
        )
        if not reply[0]:
            return Step(False)
        if len(reply) == 1:
            return Step(True)
        failure = Failure(int(reply[3]), int(reply[4])) if len(reply) == 5 else None
        return Step(True, _entry(stream, reply[1], reply[2]), failure)

    def begin(self, agent: str, stream: str, token: str, ttl_ms: int, upto: int) -> Step:
        return self._step("begin", agent, stream, [token, ttl_ms, upto])

    def advance(
        self, agent: str, stream: str, token: str, ttl_ms: int, seq: int, upto: int
    ) -> Step:
        return self._step("advance", agent, stream, [token, ttl_ms, upto, seq])

    def release_lease(self, agent: str, stream: str, token: str) -> None:
        self._run("release_lease", [self._keys.lease(agent, stream)], [token])

    def renew_lease(self, agent: str, stream: str, token: str, ttl_ms: int) -> bool:
        return bool(self._run("renew_lease", [self._keys.lease(agent, stream)], [token, ttl_ms]))

    def record_failure(self, agent: str, stream: str, seq: int, not_before_ms: int) -> int:
        return int(
            self._run("record_failure", [self._keys.failures(agent)], [stream, seq, not_before_ms])
        )

    def backlog(self, agent: str) -> list[Lag]:
        flat = self._run("backlog", [self._keys.positions(agent), self._keys.heads], [])
        return sorted(
            Lag(flat[i], int(flat[i + 1]), int(flat[i + 2])) for i in range(0, len(flat), 3)
        )

    # -- replies --------------------------------------------------------------------------------

    def open_reply(self, correlation_id: str, responder: str, ttl_ms: int) -> None:
        self._redis.set(self._keys.waiter(correlation_id), responder, px=ttl_ms)

    def put_reply(self, correlation_id: str, sender: str, body: str) -> bool:
        keys = self._keys
        return bool(
            self._run(
                "put_reply",
                [keys.waiter(correlation_id), keys.reply(correlation_id)],
                [sender, body, REPLY_KEEP_MS],
            )
        )

    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        key = self._keys.reply(correlation_id)
        if timeout <= 0:  # BLPOP's 0 would mean "forever"
            return cast(str | None, self._redis.lpop(key))
        popped = self._redis.blpop([key], timeout=timeout)
        return None if popped is None else cast(list[str], popped)[1]

    def close_reply(self, correlation_id: str) -> None:
        self._redis.delete(self._keys.waiter(correlation_id), self._keys.reply(correlation_id))

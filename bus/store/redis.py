"""The Redis store: shared by every process of a bus on Redis or RabbitMQ.

Every key lives under ``<namespace>:``. Each operation that must be atomic is one Lua script
(:mod:`bus.store.redis_scripts`), so it is also one round trip.
"""

from __future__ import annotations

from typing import Any, cast

import redis

from bus.channels import ChannelKind, ChannelSpec, Retention
from bus.errors import ChannelExists
from bus.store import redis_scripts as lua
from bus.store.base import CHANNEL_STREAM, DIRECT_STREAM, channel_stream, direct_stream


def _body(entry: str) -> str:
    """Strip the ``"<stamp>:"`` prefix of a log entry."""
    return entry[entry.index(":") + 1 :]


class RedisStore:
    """A :class:`~bus.store.base.Store` in Redis."""

    def __init__(self, url: str, namespace: str) -> None:
        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._prefix = f"{namespace}:"
        self._channels_key = self._prefix + "channels"
        self._broadcast_key = self._prefix + "broadcast"
        self._agents_key = self._prefix + "agents"
        self._heads_key = self._prefix + "heads"
        self._scripts = {
            name: self._redis.register_script(getattr(lua, name))
            for name in (
                "APPEND",
                "CLAIM",
                "CLAIM_ANY",
                "SUBSCRIBE",
                "UNSUBSCRIBE",
                "REGISTER_AGENT",
                "CREATE_CHANNEL",
                "HISTORY",
                "BEGIN",
                "ADVANCE",
                "RELEASE_LEASE",
                "RENEW_LEASE",
                "RECORD_FAILURE",
                "BACKLOG",
                "PUT_REPLY",
            )
        }

    def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        return self._scripts[script](keys=keys, args=args)

    def _members_key(self, channel: str) -> str:
        return f"{self._prefix}members:{channel}"

    def _positions_key(self, agent: str) -> str:
        return f"{self._prefix}pos:{agent}"

    def _log_key(self, stream: str) -> str:
        return f"{self._prefix}log:{stream}"

    def ping(self) -> None:
        """Raise :class:`redis.ConnectionError` if Redis does not answer."""
        self._redis.ping()

    def close(self) -> None:
        """Close the connection pool."""
        self._redis.close()

    def destroy(self) -> None:
        """Delete every key of this namespace."""
        batch: list[str] = []
        for key in self._redis.scan_iter(match=self._prefix + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self._redis.delete(*batch)
                batch.clear()
        if batch:
            self._redis.delete(*batch)

    def create_channel(self, spec: ChannelSpec) -> bool:
        """See :meth:`bus.store.base.Store.create_channel`."""
        result = self._run(
            "CREATE_CHANNEL",
            [
                self._channels_key,
                self._broadcast_key,
                self._agents_key,
                self._heads_key,
                self._members_key(spec.name),
            ],
            [
                spec.name,
                spec.model_dump_json(),
                "1" if spec.kind is ChannelKind.BROADCAST else "0",
                self._prefix,
            ],
        )
        if isinstance(result, str):
            existing = ChannelSpec.model_validate_json(result)
            raise ChannelExists(
                f"channel {spec.name!r} exists as {existing.kind} with {existing.retention}",
                channel=spec.name,
            )
        return bool(result)

    def get_channel(self, name: str) -> ChannelSpec | None:
        """See :meth:`bus.store.base.Store.get_channel`."""
        raw = cast(str | None, self._redis.hget(self._channels_key, name))
        return None if raw is None else ChannelSpec.model_validate_json(raw)

    def list_channels(self) -> list[ChannelSpec]:
        """See :meth:`bus.store.base.Store.list_channels`."""
        raw = cast(dict[str, str], self._redis.hgetall(self._channels_key))
        return [ChannelSpec.model_validate_json(raw[name]) for name in sorted(raw)]

    def register_agent(self, agent: str) -> bool:
        """See :meth:`bus.store.base.Store.register_agent`."""
        return bool(
            self._run(
                "REGISTER_AGENT",
                [
                    self._agents_key,
                    self._positions_key(agent),
                    self._heads_key,
                    self._broadcast_key,
                ],
                [agent, direct_stream(agent), self._prefix],
            )
        )

    def is_agent(self, agent: str) -> bool:
        """See :meth:`bus.store.base.Store.is_agent`."""
        return bool(self._redis.sismember(self._agents_key, agent))

    def agents(self) -> list[str]:
        """See :meth:`bus.store.base.Store.agents`."""
        return sorted(cast(set[str], self._redis.smembers(self._agents_key)))

    def subscribe(self, agent: str, channel: str) -> bool:
        """See :meth:`bus.store.base.Store.subscribe`."""
        return bool(
            self._run(
                "SUBSCRIBE",
                [self._members_key(channel), self._positions_key(agent), self._heads_key],
                [agent, channel_stream(channel)],
            )
        )

    def unsubscribe(self, agent: str, channel: str) -> bool:
        """See :meth:`bus.store.base.Store.unsubscribe`."""
        return bool(
            self._run(
                "UNSUBSCRIBE",
                [self._members_key(channel), self._positions_key(agent)],
                [agent, channel_stream(channel)],
            )
        )

    def members(self, channel: str) -> list[str]:
        """See :meth:`bus.store.base.Store.members`."""
        return sorted(cast(set[str], self._redis.smembers(self._members_key(channel))))

    def subscriptions(self, agent: str) -> list[str]:
        """See :meth:`bus.store.base.Store.subscriptions`."""
        streams = cast(list[str], self._redis.hkeys(self._positions_key(agent)))
        return sorted(
            stream[len(CHANNEL_STREAM) :] for stream in streams if stream.startswith(CHANNEL_STREAM)
        )

    def append(
        self, stream: str, body: str, now_ms: int, retention: Retention
    ) -> tuple[int, list[str]]:
        """See :meth:`bus.store.base.Store.append`."""
        max_age = retention.max_age_seconds
        if stream.startswith(CHANNEL_STREAM):
            recipients_key, owner = self._members_key(stream[len(CHANNEL_STREAM) :]), ""
        else:
            recipients_key, owner = self._agents_key, stream[len(DIRECT_STREAM) :]
        seq, *recipients = self._run(
            "APPEND",
            [self._heads_key, self._log_key(stream), recipients_key],
            [
                stream,
                body,
                now_ms,
                retention.max_messages,
                "" if max_age is None else int(max_age * 1000),
                owner,
            ],
        )
        return int(seq), recipients

    def history(
        self,
        stream: str,
        *,
        newest: int | None = None,
        after: int | None = None,
        since_ms: int | None = None,
    ) -> list[str]:
        """See :meth:`bus.store.base.Store.history`."""
        entries = self._run(
            "HISTORY",
            [self._heads_key, self._log_key(stream)],
            [stream, *("" if value is None else value for value in (after, since_ms, newest))],
        )
        return [_body(entry) for entry in entries]

    def head(self, stream: str) -> int:
        """See :meth:`bus.store.base.Store.head`."""
        return int(cast(str | None, self._redis.hget(self._heads_key, stream)) or 0)

    def retained(self, stream: str) -> int:
        """See :meth:`bus.store.base.Store.retained`."""
        return int(self._redis.llen(self._log_key(stream)))

    def position(self, agent: str, stream: str) -> int | None:
        """See :meth:`bus.store.base.Store.position`."""
        raw = cast(str | None, self._redis.hget(self._positions_key(agent), stream))
        return None if raw is None else int(raw)

    def claim(self, agent: str, stream: str) -> str | None:
        """See :meth:`bus.store.base.Store.claim`."""
        entry = self._run(
            "CLAIM",
            [self._positions_key(agent), self._heads_key, self._log_key(stream)],
            [stream],
        )
        return None if entry is None else _body(entry)

    def claim_any(self, agent: str) -> tuple[str, str] | None:
        """See :meth:`bus.store.base.Store.claim_any`."""
        found = self._run(
            "CLAIM_ANY", [self._positions_key(agent), self._heads_key], [self._prefix + "log:"]
        )
        return None if found is None else (found[0], _body(found[1]))

    def _failures_key(self, agent: str) -> str:
        return f"{self._prefix}fail:{agent}"

    def _lease_key(self, agent: str, stream: str) -> str:
        return f"{self._prefix}lease:{agent}:{stream}"

    def _step(
        self, script: str, agent: str, stream: str, args: list[Any]
    ) -> tuple[bool, str | None, tuple[int, int] | None]:
        reply = self._run(
            script,
            [
                self._lease_key(agent, stream),
                self._positions_key(agent),
                self._heads_key,
                self._log_key(stream),
                self._failures_key(agent),
            ],
            [stream, *args],
        )
        if not reply[0]:
            return False, None, None
        if len(reply) == 1:
            return True, None, None
        failure = (int(reply[2]), int(reply[3])) if len(reply) == 4 else None
        return True, _body(reply[1]), failure

    def begin(
        self, agent: str, stream: str, token: str, ttl_ms: int, upto: int
    ) -> tuple[bool, str | None, tuple[int, int] | None]:
        """See :meth:`bus.store.base.Store.begin`."""
        return self._step("BEGIN", agent, stream, [token, ttl_ms, upto])

    def advance(
        self, agent: str, stream: str, token: str, ttl_ms: int, seq: int, upto: int
    ) -> tuple[bool, str | None, tuple[int, int] | None]:
        """See :meth:`bus.store.base.Store.advance`."""
        return self._step("ADVANCE", agent, stream, [token, ttl_ms, upto, seq])

    def release_lease(self, agent: str, stream: str, token: str) -> None:
        """See :meth:`bus.store.base.Store.release_lease`."""
        self._run("RELEASE_LEASE", [self._lease_key(agent, stream)], [token])

    def renew_lease(self, agent: str, stream: str, token: str, ttl_ms: int) -> bool:
        """See :meth:`bus.store.base.Store.renew_lease`."""
        return bool(self._run("RENEW_LEASE", [self._lease_key(agent, stream)], [token, ttl_ms]))

    def record_failure(self, agent: str, stream: str, seq: int, not_before_ms: int) -> int:
        """See :meth:`bus.store.base.Store.record_failure`."""
        return int(
            self._run("RECORD_FAILURE", [self._failures_key(agent)], [stream, seq, not_before_ms])
        )

    def backlog(self, agent: str) -> list[tuple[str, int, int]]:
        """See :meth:`bus.store.base.Store.backlog`."""
        flat = self._run("BACKLOG", [self._positions_key(agent), self._heads_key], [])
        return sorted((flat[i], int(flat[i + 1]), int(flat[i + 2])) for i in range(0, len(flat), 3))

    def _reply_keys(self, correlation_id: str) -> tuple[str, str]:
        return f"{self._prefix}waiting:{correlation_id}", f"{self._prefix}reply:{correlation_id}"

    def open_reply(self, correlation_id: str, responder: str, ttl_ms: int) -> None:
        """See :meth:`bus.store.base.Store.open_reply`."""
        self._redis.set(self._reply_keys(correlation_id)[0], responder, px=ttl_ms)

    def put_reply(self, correlation_id: str, sender: str, body: str) -> bool:
        """See :meth:`bus.store.base.Store.put_reply`."""
        return bool(
            self._run("PUT_REPLY", list(self._reply_keys(correlation_id)), [sender, body, 60_000])
        )

    def wait_reply(self, correlation_id: str, timeout: float) -> str | None:
        """See :meth:`bus.store.base.Store.wait_reply`."""
        key = self._reply_keys(correlation_id)[1]
        if timeout <= 0:  # BLPOP's 0 would mean "forever"
            return cast(str | None, self._redis.lpop(key))
        popped = self._redis.blpop([key], timeout=timeout)
        return None if popped is None else cast(list[str], popped)[1]

    def close_reply(self, correlation_id: str) -> None:
        """See :meth:`bus.store.base.Store.close_reply`."""
        self._redis.delete(*self._reply_keys(correlation_id))

"""The Redis store: shared by every process of a bus on Redis or RabbitMQ.

Every key is named by :class:`~bus.store.keys.Keys` (one hash tag per namespace, so the store
also runs on a Redis Cluster). Each operation that must be atomic is one Lua script
(:mod:`bus.store.scripts`), so it is also one round trip. The scripts that span an unknown
number of keys (a broadcast channel's agents, an agent's broadcast channels or streams) are
given them by the caller, re-check them, and ask for a retry when they changed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, cast

from redis.exceptions import ResponseError

from bus.channels import ChannelSpec, Overflow, Retention, Stream
from bus.store.base import ResetWatcher, Store
from bus.store.client import connect
from bus.store.identity import Epochs, new_epoch
from bus.store.keys import Keys
from bus.store.redis_bulk import RedisBulk
from bus.store.redis_leases import RedisLeases
from bus.store.redis_registry import RedisRegistry, refusal
from bus.store.redis_replies import RedisReplies
from bus.store.results import Appended, Dedupe, Duplicate, Entry
from bus.store.scripts import PRELUDES, source


def _entry(stream: str, seq: Any, raw: str, skipped: Any = 0) -> Entry:
    """An :class:`Entry` from a log entry ``"<append ms>:<json>"``."""
    return Entry(stream, int(seq), raw[raw.index(":") + 1 :], int(skipped))


class RedisStore(RedisBulk, RedisRegistry, RedisLeases, RedisReplies, Store):
    """A :class:`~bus.store.base.Store` in Redis."""

    def __init__(self, url: str, namespace: str) -> None:
        self._redis = connect(url)
        self.url = self._redis.url
        self._epochs = Epochs(self.url)
        self._keys = Keys(namespace)
        self._scripts = {name: self._redis.register_script(source(name)) for name in PRELUDES}
        #: agent -> the streams it read at its last claim_any: the keys that script needs.
        self._streams: dict[str, list[str]] = {}
        self._streams_lock = threading.Lock()

    def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        try:
            return self._scripts[script](keys=keys, args=args)
        except ResponseError as exc:
            text = str(exc)
            if text.startswith("BUSRESET"):
                raise self._epochs.reset(text[len("BUSRESET") :].strip() or None) from None
            raise

    # -- identity -------------------------------------------------------------------------------

    def establish(self) -> str:
        self._redis.set(self._keys.epoch, new_epoch(), nx=True)
        epoch = cast(str, self._redis.get(self._keys.epoch))
        self._epochs.expected = epoch
        return epoch

    def epoch(self) -> str | None:
        return cast(str | None, self._redis.get(self._keys.epoch))

    @property
    def expected(self) -> str | None:
        return self._epochs.expected

    def verify(self) -> None:
        found = self.epoch()
        if self._epochs.expected is not None and found != self._epochs.expected:
            raise self._epochs.reset(found)

    def watch(self, watcher: ResetWatcher) -> None:
        self._epochs.watch(watcher)

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

    # -- log ------------------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        body: str,
        now_ms: int,
        retention: Retention,
        *,
        channel: ChannelSpec | None = None,
        dedupe: Dedupe | None = None,
        coalesce: bool = False,
    ) -> Appended:
        keys, max_age = self._keys, retention.max_age_seconds
        parsed = Stream(stream)
        owner = parsed.owner
        recipients_key = (
            keys.agents if owner is not None else keys.members(cast(str, parsed.channel))
        )
        reject = channel is not None and channel.overflow is Overflow.REJECT_PUBLISH
        while True:
            # reject-publish: the script checks the members' positions, so it needs their keys.
            known = sorted(cast(set[str], self._redis.smembers(recipients_key))) if reject else []
            try:
                seq, *members = self._run(
                    "append",
                    [
                        keys.heads,
                        keys.log(stream),
                        recipients_key,
                        keys.channels,
                        keys.epoch,
                        keys.dedupe(stream, dedupe.key if dedupe else ""),
                        keys.signals(stream),
                        *(keys.positions(member) for member in known),
                    ],
                    [
                        stream,
                        body,
                        now_ms,
                        retention.max_messages,
                        "" if max_age is None else int(max_age * 1000),
                        owner or "",
                        "" if channel is None else channel.name,
                        "" if channel is None else channel.version,
                        self._epochs.arg,
                        "" if dedupe is None else dedupe.window_ms,
                        "reject" if reject else "",
                        "coalesce" if coalesce else "",
                        *known,
                    ],
                )
            except ResponseError as exc:
                raise refusal(exc, channel) from None
            if int(seq) != -1:
                break
        if int(seq) == -2:
            return Duplicate(int(members[0]), [])
        if coalesce:
            woken = int(members[0])
            return Appended(int(seq), members[1:], members[1 : 1 + woken])
        return Appended(int(seq), members)

    def unsignal(self, stream: str, agents: Sequence[str]) -> None:
        if agents:
            self._redis.hdel(self._keys.signals(stream), *agents)

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
        found = self._run(
            "claim",
            [
                keys.positions(agent),
                keys.heads,
                keys.log(stream),
                keys.epoch,
                keys.lease(agent, stream),
                keys.signals(stream),
            ],
            [stream, self._epochs.arg, agent],
        )
        return None if found is None else _entry(stream, found[0], found[1], found[2])

    def claim_any(self, agent: str) -> Entry | None:
        keys = self._keys
        with self._streams_lock:
            streams = self._streams.get(agent, [])
        while True:
            found = self._run(
                "claim_any",
                [
                    keys.positions(agent),
                    keys.heads,
                    *(keys.log(stream) for stream in streams),
                    *(keys.lease(agent, stream) for stream in streams),
                    *(keys.signals(stream) for stream in streams),
                    keys.epoch,
                ],
                [self._epochs.arg, agent, *streams],
            )
            if found is None:
                return None
            if int(found[0]) == 1:
                return _entry(found[1], found[2], found[3], found[4])
            # The agent's streams changed since they were cached: learn them and try again.
            streams = sorted(found[1:])
            with self._streams_lock:
                self._streams[agent] = streams

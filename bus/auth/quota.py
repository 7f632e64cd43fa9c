"""Publish quotas: a token bucket per identity, in the store, so it holds across processes.

A bucket holds up to ``burst`` tokens and gains ``rate`` per second; each publish takes one. On
Redis the whole step is one Lua script (its only key through ``KEYS``), so every process of one
identity draws from the same bucket. Time is the caller's (``now_ms``) or, if it passes none,
Redis's own clock (``TIME``), so processes with skewed clocks still agree.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Protocol

from bus.auth.keyspace import RedisKeyspace
from bus.auth.storage import auth_prefix
from bus.errors import RateLimited
from bus.settings import BusSettings
from bus.settings.transports import store_in_process

# KEYS[1]: the bucket hash {tokens, ts}. ARGV: rate (tokens/s), burst, now in ms ('' = Redis
# TIME). Returns 0 if a token was taken, else the milliseconds until one is there.
TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', ts)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
"""


class Buckets(Protocol):
    """Token buckets by identity name."""

    def take(self, name: str, rate: float, burst: int, now_ms: int | None = None) -> float:
        """Take one token from ``name``'s bucket (full at first).

        Returns:
            0.0 if a token was taken; otherwise none was, and this many seconds pass before one
            is there.
        """

    def destroy(self) -> None:
        """Forget every bucket of this namespace."""

    def close(self) -> None:
        """Release connections."""


class MemoryBuckets:
    """:class:`Buckets` in this process's memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: name -> (tokens, ts_ms)
        self._buckets: dict[str, tuple[float, int]] = {}

    def take(self, name: str, rate: float, burst: int, now_ms: int | None = None) -> float:
        """See :meth:`Buckets.take`."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        with self._lock:
            tokens, ts = self._buckets.get(name, (float(burst), now))
            if now > ts:
                tokens, ts = min(float(burst), tokens + (now - ts) * rate / 1000), now
            wait = 0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = math.ceil((1 - tokens) * 1000 / rate)
            self._buckets[name] = (tokens, ts)
        return wait / 1000

    def destroy(self) -> None:
        """See :meth:`Buckets.destroy`."""
        with self._lock:
            self._buckets.clear()

    def close(self) -> None:
        """Nothing to release."""


class RedisBuckets(RedisKeyspace):
    """:class:`Buckets` in Redis, under ``{<namespace>}:auth:bucket:``."""

    def __init__(self, url: str, namespace: str, sentinel_master: str | None = None) -> None:
        super().__init__(url, auth_prefix(namespace) + "bucket:", sentinel_master)
        self._take = self._redis.register_script(TAKE)

    def take(self, name: str, rate: float, burst: int, now_ms: int | None = None) -> float:
        """See :meth:`Buckets.take`."""
        args: list[Any] = [repr(float(rate)), burst, "" if now_ms is None else now_ms]
        wait: Any = self._take(keys=[self._prefix + name], args=args)
        return int(wait) / 1000


_memory_buckets: dict[str, MemoryBuckets] = {}
_memory_lock = threading.Lock()


def open_buckets(url: str, namespace: str, sentinel_master: str | None = None) -> Buckets:
    """The buckets of the store at ``url``; ``memory://`` is shared within the process per
    namespace, like the in-process store (``sentinel_master``: see :class:`RedisKeyspace`)."""
    if store_in_process(url):
        with _memory_lock:
            return _memory_buckets.setdefault(namespace, MemoryBuckets())
    return RedisBuckets(url, namespace, sentinel_master)


class PublishQuota:
    """The publish rate every identity is held to."""

    def __init__(self, buckets: Buckets, rate: float | None, burst: int) -> None:
        """Args:
        buckets: where the buckets live.
        rate: messages per second per identity; ``None`` or 0: no limit.
        burst: messages an identity may publish at once.
        """
        self.buckets = buckets
        self.rate = rate or None
        self.burst = burst

    @classmethod
    def from_settings(cls, settings: BusSettings, buckets: Buckets) -> PublishQuota:
        """The quota the settings give (``publish_rate``, ``publish_burst``)."""
        return cls(buckets, settings.publish_rate, settings.publish_burst)

    def charge(self, identity: str, now_ms: int | None = None) -> None:
        """Count one publish by ``identity``.

        Raises:
            RateLimited: naming ``identity``, ``rate``, ``burst`` and ``retry_after`` (seconds);
                nothing was counted.
        """
        if self.rate is None:
            return
        wait = self.buckets.take(identity, self.rate, self.burst, now_ms)
        if wait > 0:
            raise RateLimited(
                f"{identity!r} publishes faster than {self.rate:g} messages/s "
                f"(burst {self.burst}); retry in {wait:.3f} s",
                identity=identity,
                rate=self.rate,
                burst=self.burst,
                retry_after=wait,
            )

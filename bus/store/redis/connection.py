"""The Redis client of the store: every connection failure becomes a :class:`StoreUnavailable`.

The boundaries are :meth:`redis.Redis.execute_command`, which every command, script call
(``EVALSHA``, and the ``SCRIPT LOAD`` after a restart) and scan goes through, and a pipeline's
``execute``, so no raw ``redis.exceptions.ConnectionError`` or socket error reaches a caller of
the bus. The URL in the error has its password masked.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.sentinel import Sentinel

from bus.errors import StoreUnavailable
from bus.settings.replication import is_sentinel, sentinel_address
from bus.settings.urls import mask

#: Seconds to connect to a server or a sentinel, and to wait for a sentinel's answer: during a
#: failover a call fails fast (``StoreUnavailable``) instead of hanging on a dead master.
CONNECT_TIMEOUT = 2.0

#: What means "the server cannot serve us now" (``BusyLoadingError`` is a ConnectionError;
#: ``ReadOnlyError``: a replica that has not been promoted yet).
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError)


class StoreClient(redis.Redis):
    """A :class:`redis.Redis` that raises :class:`StoreUnavailable` naming its server."""

    #: The server's URL, password masked (set by :func:`connect`).
    url = ""
    #: The sentinels' clients, when the master is found through them (closed with it).
    sentinels: tuple[redis.Redis, ...] = ()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except UNAVAILABLE as exc:
            raise unavailable(self.url, exc) from exc

    def close(self) -> None:
        super().close()
        for sentinel in self.sentinels:
            sentinel.close()

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> StorePipeline:
        pipe = StorePipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.url = self.url
        return pipe


class StorePipeline(redis.client.Pipeline):
    """A pipeline whose ``execute`` raises :class:`StoreUnavailable` naming its server."""

    url = ""

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            return super().execute(raise_on_error)
        except UNAVAILABLE as exc:
            raise unavailable(self.url, exc) from exc


def unavailable(url: str, exc: BaseException) -> StoreUnavailable:
    """The error a caller gets for ``exc`` from the store at ``url`` (masked here)."""
    shown = mask(url)
    return StoreUnavailable(
        f"cannot reach the store at {shown}: {mask(str(exc)) or type(exc).__name__}",
        url=shown,
        error=type(exc).__name__,
    )


def replica_reached(client: StoreClient) -> StoreUnavailable:
    """The error for a call that found ``client`` talking to a replica (an old master back as
    one, found by a sentinel that had not heard of the failover yet): its data is not the
    store's, so that is no reset. The client's connections are dropped: the next call connects
    again (through the sentinels, to the master they name)."""
    client.connection_pool.disconnect()
    return unavailable(client.url, ReadOnlyError("the server reached is a replica, not the master"))


def connect(url: str, sentinel_master: str | None = None) -> StoreClient:
    """A client of the store at ``url`` (strings decoded).

    A ``sentinel://`` URL names sentinels: the client asks them for the master
    ``sentinel_master`` at each new connection (redis-py's ``Sentinel.master_for``), so it
    follows a failover; a call during one raises :class:`StoreUnavailable`.

    Raises:
        ConfigurationError: a sentinel URL without a master name, or malformed.
    """
    if is_sentinel(url):
        address = sentinel_address(url, sentinel_master, "BUS_STORE_URL")
        timeouts = {"socket_timeout": CONNECT_TIMEOUT, "socket_connect_timeout": CONNECT_TIMEOUT}
        sentinel = Sentinel(list(address.sentinels), sentinel_kwargs=timeouts)
        client: StoreClient = sentinel.master_for(
            address.master,
            redis_class=StoreClient,
            db=address.db,
            password=address.password,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
        )
        client.sentinels = tuple(sentinel.sentinels)
    else:
        pool = redis.ConnectionPool.from_url(url, decode_responses=True)
        client = StoreClient(connection_pool=pool)
    client.auto_close_connection_pool = True  # as from_url does: close() ends the pool
    client.url = mask(url)
    return client

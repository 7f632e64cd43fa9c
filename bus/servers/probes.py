"""Can this machine reach the broker and the store? Short timeouts, so the answer comes fast."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bus.errors import StoreUnavailable
from bus.settings import BusSettings
from bus.settings.replication import is_sentinel, replication_of
from bus.settings.transports import resolve_store_url, store_in_process, transport_of
from bus.settings.urls import mask
from bus.store import Fence, open_store

#: Seconds to wait for a TCP connection to the broker or the store before calling it down.
CONNECT_TIMEOUT = 3.0


@dataclass(frozen=True)
class Probe:
    """What one service answered."""

    service: str
    url: str
    error: str | None
    millis: float

    @property
    def ok(self) -> bool:
        """Whether the service answered."""
        return self.error is None


def _timed(service: str, url: str, check: Callable[[], None]) -> Probe:
    start = time.monotonic()
    try:
        check()
    except Exception as exc:
        error = mask(str(exc).strip() or type(exc).__name__)
        return Probe(service, mask(url), error, (time.monotonic() - start) * 1000)
    return Probe(service, mask(url), None, (time.monotonic() - start) * 1000)


def ping_store(url: str, sentinel_master: str | None = None) -> None:
    """Ping the store at ``url`` once, with short timeouts; nothing to do for ``memory://``
    (a ``sentinel://`` URL: the master the sentinels name for ``sentinel_master``).

    Raises:
        Exception: whatever the Redis client raised.
    """
    if store_in_process(url):
        return
    if is_sentinel(url):
        from bus.store.redis.connection import connect

        with connect(url, sentinel_master) as found:
            found.ping()
        return
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


def ping_broker(url: str, sentinel_master: str | None = None) -> None:
    """Open one connection to the broker at ``url`` (no retries), then close it.

    Raises:
        Exception: whatever kombu raised.
    """
    if transport_of(url).in_process:
        return
    from kombu import Connection

    options = {"master_name": sentinel_master} if is_sentinel(url) else {}
    with Connection(url, connect_timeout=CONNECT_TIMEOUT, transport_options=options) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)


def why_unreachable(store_url: str, broker_url: str | None = None) -> str | None:
    """Why the store (and the broker, if given) cannot be used, or ``None`` if they answer.
    The tests and the benchmark use it to skip, or fail, a transport."""
    for what, url, ping in (("store", store_url, ping_store), ("broker", broker_url, ping_broker)):
        if url is None:
            continue
        try:
            ping(url)
        except Exception as exc:
            return f"the {what} at {mask(url)} does not answer: {exc}"
    return None


def check_store(settings: BusSettings) -> None:
    """Fail fast, before a :class:`bus.Bus` connects without a timeout, if the store is down.

    Raises:
        StoreUnavailable: naming the URL (password masked).
        ConfigurationError: the settings name no usable store.
    """
    url = resolve_store_url(settings.broker_url, settings.store_url)
    probe = _timed("store", url, lambda: ping_store(url, settings.sentinel_master))
    if not probe.ok:
        raise StoreUnavailable(
            f"cannot reach the store at {probe.url}: {probe.error}", url=probe.url
        )


def probe_all(settings: BusSettings) -> list[Probe]:
    """Probe the broker and the store of ``settings``.

    Raises:
        ConfigurationError: the settings name no usable broker or store.
    """
    store_url = resolve_store_url(settings.broker_url, settings.store_url)
    master = settings.sentinel_master
    return [
        _timed("broker", settings.broker_url, lambda: ping_broker(settings.broker_url, master)),
        _timed("store", store_url, lambda: ping_store(store_url, master)),
    ]


def recorded_fences(settings: BusSettings) -> list[Fence]:
    """The fences the store of ``settings`` recorded: seqs a failover lost after clients saw
    them acknowledged (see :class:`~bus.store.contracts.epochs.EpochStore`), oldest first.

    Raises:
        StoreUnavailable: the store does not answer.
    """
    url = resolve_store_url(settings.broker_url, settings.store_url)
    store = open_store(url, settings.namespace, replication_of(settings))
    try:
        return store.epochs.fences()
    finally:
        store.close()

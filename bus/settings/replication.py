"""How the store and a Redis broker find their server and how far a write must reach:
Redis Sentinel URLs (kombu's form) and the replicas a publish waits for.

A Sentinel URL names the sentinels, not the server: ``sentinel://host:port;sentinel://host:port``
(kombu's ``sentinel://`` transport takes the same), optionally with a password and a database
number on the first (``sentinel://:secret@host:26379/0;sentinel://host:26380``). The sentinels
tell which server is the master of ``BUS_SENTINEL_MASTER`` now, so clients follow a failover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from bus.errors import ConfigurationError
from bus.settings.urls import mask, scheme_of

if TYPE_CHECKING:
    from bus.settings.schema import BusSettings

#: The scheme of a URL that names Redis sentinels (kombu's).
SENTINEL_SCHEME = "sentinel"
#: A sentinel's port when its URL names none (Redis's and kombu's default).
SENTINEL_PORT = 26379


@dataclass(frozen=True, slots=True)
class SentinelAddress:
    """Where the sentinels of a Redis master are, and what to ask them for."""

    #: ``(host, port)`` of each sentinel, in the URL's order.
    sentinels: tuple[tuple[str, int], ...]
    #: The name of the master the sentinels watch (``BUS_SENTINEL_MASTER``).
    master: str
    #: The database number on the master.
    db: int = 0
    #: The master's password (the first URL's), if any.
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Replication:
    """What a Redis store is told beyond its URL (all from :class:`~bus.settings.BusSettings`)."""

    #: The master name when the store URL names sentinels (``BUS_SENTINEL_MASTER``).
    sentinel_master: str | None = None
    #: Replicas that must have an append before a publish returns (``BUS_STORE_MIN_REPLICAS``).
    min_replicas: int = 0
    #: How long a publish waits for them, in milliseconds (``BUS_STORE_REPLICA_TIMEOUT`` is in
    #: seconds).
    replica_timeout_ms: int = 1000


def replication_of(settings: BusSettings) -> Replication:
    """What ``settings`` tell a Redis store beyond its URL."""
    return Replication(
        settings.sentinel_master,
        settings.store_min_replicas,
        max(1, round(settings.store_replica_timeout * 1000)),
    )


def check_sentinels(store_url: str, master: str | None) -> None:
    """Refuse a ``sentinel://`` store URL without a master name, or malformed.

    Raises:
        ConfigurationError: what to set or fix.
    """
    if is_sentinel(store_url):
        sentinel_address(store_url, master, "BUS_STORE_URL")


def is_sentinel(url: str) -> bool:
    """Whether ``url`` names Redis sentinels rather than a server."""
    return scheme_of(url) == SENTINEL_SCHEME


def sentinel_address(url: str, master: str | None, setting: str) -> SentinelAddress:
    """The sentinels of ``url`` (of ``setting``) and the master to ask them for.

    Raises:
        ConfigurationError: no master name (``BUS_SENTINEL_MASTER``), or a part of the URL
            that is not a sentinel (the message names it).
    """
    if not master:
        raise ConfigurationError(
            f"{setting}={mask(url)} names Redis sentinels: set BUS_SENTINEL_MASTER to the name "
            "of the master they watch (the name in the sentinels' `sentinel monitor` line, e.g. "
            "BUS_SENTINEL_MASTER=mymaster); kombu's broker_transport_options['master_name'] gets "
            "the same",
            setting="BUS_SENTINEL_MASTER",
            url=mask(url),
        )
    sentinels: list[tuple[str, int]] = []
    db, password = 0, None
    for part in filter(None, (piece.strip() for piece in url.split(";"))):
        parsed = urlsplit(part)
        if parsed.scheme.lower() != SENTINEL_SCHEME or not parsed.hostname:
            raise ConfigurationError(
                f"{setting}={mask(url)}: {mask(part)!r} is not a sentinel URL "
                "(sentinel://host:port; separate several with ';')",
                setting=setting,
                url=mask(url),
            )
        try:
            sentinels.append((parsed.hostname, parsed.port or SENTINEL_PORT))
        except ValueError:
            raise ConfigurationError(
                f"{setting}={mask(url)}: {mask(part)!r} has no valid port",
                setting=setting,
                url=mask(url),
            ) from None
        if not sentinels[1:]:  # the first URL carries the master's password and database
            password = unquote(parsed.password) if parsed.password else None
            path = parsed.path.strip("/")
            if path and not path.isdigit():
                raise ConfigurationError(
                    f"{setting}={mask(url)}: the database must be a number, not {path!r}",
                    setting=setting,
                    url=mask(url),
                )
            db = int(path or 0)
    return SentinelAddress(tuple(sentinels), master, db, password)

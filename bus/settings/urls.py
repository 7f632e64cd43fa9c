"""Which broker and store URLs bus accepts, and which store a broker gets by default."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bus.errors import ConfigurationError

#: Kombu transports bus is built and tested for.
BROKER_SCHEMES = ("memory", "redis", "rediss", "amqp", "amqps", "pyamqp")
#: Schemes of AMQP brokers, which route through exchanges on the server.
AMQP = frozenset({"amqp", "amqps", "pyamqp"})
#: Stores bus can keep its state in.
STORE_SCHEMES = ("memory", "redis", "rediss", "unix")

_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s]+)@")


def mask(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``**`` (as kombu does)."""
    return _PASSWORD.sub(lambda match: f"{match['head']}**@", text)


def scheme_of(url: str) -> str:
    """The URL's scheme, lower-cased (``''`` if there is none)."""
    return urlsplit(url).scheme.lower() if "://" in url else ""


def check_broker_url(url: str) -> str:
    """Return ``url`` if bus supports its transport.

    Raises:
        ConfigurationError: unsupported scheme; the message names the supported ones.
    """
    scheme = scheme_of(url)
    if scheme not in BROKER_SCHEMES:
        raise ConfigurationError(
            f"unsupported broker URL {url!r}: BUS_BROKER_URL must start with one of "
            + ", ".join(f"{name}://" for name in BROKER_SCHEMES),
            setting="BUS_BROKER_URL",
            url=url,
        )
    return url


def resolve_store_url(broker_url: str, store_url: str | None) -> str:
    """The store URL a bus uses: the explicit one, else the in-process store for ``memory://``
    and the broker's own Redis for ``redis://``.

    Raises:
        ConfigurationError: amqp without a store, an unsupported store scheme, or the in-process
            store with a broker that other processes share (their state would split).
    """
    broker = scheme_of(check_broker_url(broker_url))
    if store_url is None:
        if broker == "memory":
            return "memory://"
        if broker in ("redis", "rediss"):
            return broker_url
        raise ConfigurationError(
            f"BUS_STORE_URL must be set when the broker is {broker}:// (for example "
            "BUS_STORE_URL=redis://127.0.0.1:6379/0): history, channels and positions must live "
            "where every process of the bus can reach them",
            setting="BUS_STORE_URL",
            broker_url=broker_url,
        )
    scheme = scheme_of(store_url)
    if scheme not in STORE_SCHEMES:
        raise ConfigurationError(
            f"unsupported store URL {store_url!r}: BUS_STORE_URL must start with one of "
            + ", ".join(f"{name}://" for name in STORE_SCHEMES),
            setting="BUS_STORE_URL",
            url=store_url,
        )
    if scheme == "memory" and broker != "memory":
        raise ConfigurationError(
            f"BUS_STORE_URL=memory:// cannot serve a {broker}:// broker: other processes "
            "sharing the broker could not see this process's history and positions",
            setting="BUS_STORE_URL",
            broker_url=broker_url,
        )
    return store_url

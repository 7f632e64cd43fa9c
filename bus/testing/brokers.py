"""The servers tests and benchmarks run against, whether they answer, and settings to use them.

``BUS_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) and ``BUS_TEST_AMQP_URL`` (default
``amqp://guest:guest@127.0.0.1:5672//``) name them. A transport is ``memory`` (nothing to reach),
``redis`` (Redis is broker and store) or ``amqp`` (RabbitMQ the broker, Redis the store).
"""

from __future__ import annotations

import functools
import os
import uuid
from typing import Any, Final

from bus.errors import ConfigurationError
from bus.servers.probes import why_unreachable
from bus.settings import BusSettings

#: The transports every contract test and benchmark runs on, in this order.
TRANSPORTS: Final = ("memory", "redis", "amqp")
#: Where the test Redis is when ``BUS_TEST_REDIS_URL`` is unset.
DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/0"
#: Where the test RabbitMQ is when ``BUS_TEST_AMQP_URL`` is unset.
DEFAULT_AMQP_URL: Final = "amqp://guest:guest@127.0.0.1:5672//"


def redis_url() -> str:
    """The test Redis: ``BUS_TEST_REDIS_URL``, or :data:`DEFAULT_REDIS_URL`."""
    return os.environ.get("BUS_TEST_REDIS_URL") or DEFAULT_REDIS_URL


def amqp_url() -> str:
    """The test RabbitMQ: ``BUS_TEST_AMQP_URL``, or :data:`DEFAULT_AMQP_URL`."""
    return os.environ.get("BUS_TEST_AMQP_URL") or DEFAULT_AMQP_URL


def _check(transport: str) -> None:
    if transport not in TRANSPORTS:
        raise ConfigurationError(
            f"unknown transport {transport!r}: expected one of {', '.join(TRANSPORTS)}",
            transport=transport,
        )


def broker_url(transport: str) -> str:
    """The broker URL of ``transport``.

    Raises:
        ConfigurationError: ``transport`` is not one of :data:`TRANSPORTS`.
    """
    _check(transport)
    return {"memory": "memory://", "redis": redis_url(), "amqp": amqp_url()}[transport]


def store_url(transport: str) -> str | None:
    """The store URL a bus on ``transport`` is given: Redis for ``amqp``, else ``None`` (the
    broker's own store).

    Raises:
        ConfigurationError: ``transport`` is not one of :data:`TRANSPORTS`.
    """
    _check(transport)
    return redis_url() if transport == "amqp" else None


@functools.cache
def unreachable(transport: str) -> str | None:
    """Why ``transport``'s servers cannot be used, or ``None`` if they answer.

    The answer is remembered for the life of the process (one test session, one benchmark run),
    so a down server costs one connect timeout, not one per test; ``unreachable.cache_clear()``
    asks again.

    Raises:
        ConfigurationError: ``transport`` is not one of :data:`TRANSPORTS`.
    """
    _check(transport)
    if transport == "memory":
        return None
    return why_unreachable(redis_url(), amqp_url() if transport == "amqp" else None)


def new_namespace(prefix: str = "t") -> str:
    """A namespace no other test or run uses, so nobody sees anyone else's state.

    Args:
        prefix: its start; together with 12 random hex digits it must fit bus's namespace
            pattern (``[a-z][a-z0-9_-]{0,31}``), so at most 20 characters.
    """
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def settings_for(transport: str, **overrides: Any) -> BusSettings:
    """Settings for a bus on ``transport``'s test servers, in a fresh namespace.

    Args:
        transport: ``memory``, ``redis`` or ``amqp``.
        overrides: any :class:`~bus.settings.schema.BusSettings` field (``namespace`` too).

    Raises:
        ConfigurationError: ``transport`` is not one of :data:`TRANSPORTS`.
        pydantic.ValidationError: an override is not a valid setting.
    """
    values: dict[str, Any] = {
        "broker_url": broker_url(transport),
        "store_url": store_url(transport),
        "namespace": new_namespace(),
    }
    values.update(overrides)
    return BusSettings(**values)

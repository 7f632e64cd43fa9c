"""Which brokers the tests use, and whether they answer.

``BUS_TEST_REDIS_URL`` and ``BUS_TEST_AMQP_URL`` point at them (loopback by default). A broker
that does not answer skips its tests, unless ``BUS_REQUIRE_BROKERS=1`` (CI), which fails them.
"""

from __future__ import annotations

import functools
import os
import sys
import uuid

import pytest

from bus.cli.health import why_unreachable
from config.settings import BusSettings

REDIS_URL = os.environ.get("BUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("BUS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
REQUIRE_BROKERS = os.environ.get("BUS_REQUIRE_BROKERS", "") not in ("", "0", "false", "no")

TRANSPORTS = ("memory", "redis", "amqp")


@functools.cache
def unreachable(transport: str) -> str | None:
    """Why ``transport``'s servers cannot be used, or ``None`` if they answer."""
    if transport == "memory":
        return None
    return why_unreachable(REDIS_URL, AMQP_URL if transport == "amqp" else None)


def require(transport: str) -> None:
    """Skip (or, under ``BUS_REQUIRE_BROKERS=1``, fail) when ``transport`` is unreachable."""
    reason = unreachable(transport)
    if reason is None:
        return
    if REQUIRE_BROKERS:
        pytest.fail(f"BUS_REQUIRE_BROKERS=1 but {reason}")
    pytest.skip(reason)


def new_namespace() -> str:
    """A namespace no other test uses, so tests never see each other's state."""
    return f"t{uuid.uuid4().hex[:12]}"


def settings_for(transport: str, **overrides: object) -> BusSettings:
    """Settings for a bus on ``transport`` in a fresh namespace."""
    urls = {
        "memory": ("memory://", None),
        "redis": (REDIS_URL, None),
        "amqp": (AMQP_URL, REDIS_URL),
    }
    broker_url, store_url = urls[transport]
    values: dict[str, object] = {
        "broker_url": broker_url,
        "store_url": store_url,
        "namespace": new_namespace(),
    }
    values.update(overrides)
    return BusSettings(**values)  # type: ignore[arg-type]


def environment_for(settings: BusSettings) -> dict[str, str]:
    """The environment a subprocess needs to join the bus of ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BUS_")}
    # Subprocesses run this interpreter's commands (celery, bus, honcho), venv activated or not.
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join(filter(None, [bindir, env.get("PATH")]))
    env.update(
        BUS_BROKER_URL=settings.broker_url,
        BUS_NAMESPACE=settings.namespace,
        BUS_POLLING_INTERVAL=str(settings.polling_interval),
    )
    if settings.store_url:
        env["BUS_STORE_URL"] = settings.store_url
    return env

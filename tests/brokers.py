"""Which brokers the tests use, and skipping (or failing) a test whose broker does not answer.

Everything but the pytest part lives in :mod:`bus.testing`, which the benchmark shares:
``BUS_TEST_REDIS_URL`` and ``BUS_TEST_AMQP_URL`` point at the servers (loopback by default). A
broker that does not answer skips its tests, unless ``BUS_REQUIRE_BROKERS=1`` (CI), which fails
them.
"""

from __future__ import annotations

import os

import pytest

from bus.testing import (
    TRANSPORTS,
    amqp_url,
    environment_for,
    new_namespace,
    redis_url,
    settings_for,
    unreachable,
)

__all__ = [
    "AMQP_URL",
    "REDIS_URL",
    "REQUIRE_BROKERS",
    "TRANSPORTS",
    "environment_for",
    "new_namespace",
    "require",
    "settings_for",
    "unreachable",
]

#: The test servers, read once per session (tests name them in assertions and raw clients).
REDIS_URL = redis_url()
AMQP_URL = amqp_url()
REQUIRE_BROKERS = os.environ.get("BUS_REQUIRE_BROKERS", "") not in ("", "0", "false", "no")


def require(transport: str) -> None:
    """Skip (or, under ``BUS_REQUIRE_BROKERS=1``, fail) when ``transport`` is unreachable."""
    reason = unreachable(transport)
    if reason is None:
        return
    if REQUIRE_BROKERS:
        pytest.fail(f"BUS_REQUIRE_BROKERS=1 but {reason}")
    pytest.skip(reason)

"""Fixtures of the worker tests: settings on a real broker, cleaned up afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from bus import Bus
from config.settings import BusSettings
from tests.brokers import REDIS_URL, require, settings_for
from tests.worker.harness import FAST


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("amqp", marks=pytest.mark.amqp),
    ]
)
def broker_settings(request: pytest.FixtureRequest) -> Iterator[BusSettings]:
    """Settings for worker subprocesses on Redis, then on RabbitMQ; state deleted afterwards."""
    require(request.param)
    settings = settings_for(request.param, **FAST)
    yield settings
    Bus(settings).start().destroy()
    redis.Redis.from_url(REDIS_URL).delete(f"{settings.namespace}:test:runs")

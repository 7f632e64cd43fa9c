"""Fixtures shared by every test: a bus per transport, each in a namespace of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bus import Bus
from bus.settings import BusSettings
from tests.brokers import TRANSPORTS, require, settings_for


@pytest.fixture(
    params=[pytest.param(name, marks=getattr(pytest.mark, name)) for name in TRANSPORTS]
)
def transport(request: pytest.FixtureRequest) -> str:
    """Each test that uses it runs once per transport: memory, redis, amqp."""
    name: str = request.param
    require(name)
    return name


@pytest.fixture
def settings(transport: str) -> BusSettings:
    """Settings for a bus on the current transport, in a fresh namespace."""
    return settings_for(transport)


@pytest.fixture
def bus(settings: BusSettings) -> Iterator[Bus]:
    """A started bus; everything it created is deleted afterwards."""
    instance = Bus(settings).start()
    try:
        yield instance
    finally:
        if not instance.started:
            instance.start()
        instance.destroy()

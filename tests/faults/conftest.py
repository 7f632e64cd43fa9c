"""Fixtures of the fault tests: private servers and test hosts, always cleaned up.

A private RabbitMQ node takes ~5-6 s to boot here, so one serves the whole session; Redis
servers (a fraction of a second) and test hosts are made per test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.brokers import REQUIRE_BROKERS, require
from tests.support.servers import Hosts, RabbitNode, RedisServer, netns_unavailable


def _missing(reason: str) -> None:
    if REQUIRE_BROKERS:
        pytest.fail(f"BUS_REQUIRE_BROKERS=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def rabbit_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitNode]:
    """A RabbitMQ node of this session's own (tests may stop and start its application)."""
    if shutil.which("rabbitmq-server") is None and not Path("/usr/lib/rabbitmq/bin").exists():
        _missing("rabbitmq-server is not installed")
    node = RabbitNode(tmp_path_factory.mktemp("rabbit"))
    try:
        node.start()
        yield node
    finally:
        node.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A started ``redis-server`` of the test's own, killed at teardown."""
    if shutil.which("redis-server") is None:
        _missing("redis-server is not installed")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    """Test hosts in network namespaces; every namespace, link and process removed after."""
    reason = netns_unavailable()
    if reason is not None:
        _missing(reason)
    made = Hosts()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def shared_redis() -> None:
    """The shared Redis the recorder agents write to must answer."""
    require("redis")

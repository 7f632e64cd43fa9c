"""Servers and settings bus refuses up front, with a ``ConfigurationError`` saying why: a Redis
Cluster (by URL, or a Redis that answers as a cluster node) and quorum queues on a broker that
has none."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bus import Bus
from bus.errors import ConfigurationError
from bus.settings import BusSettings
from tests.brokers import REQUIRE_BROKERS, new_namespace
from tests.support.process import end_process_group, free_port, wait_until


@pytest.mark.parametrize(
    "url", ["redis+cluster://:secret@10.0.0.1:7000/0", "rediscluster://10.0.0.1:7000"]
)
def test_a_redis_cluster_url_is_refused_as_broker_or_store(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Bus(BusSettings(broker_url=url, namespace=new_namespace()))
    assert "kombu and Celery do not support Redis Cluster" in str(info.value)
    assert "secret" not in str(info.value)
    assert info.value.context["setting"] == "BUS_BROKER_URL"
    with pytest.raises(ConfigurationError) as info:
        Bus(BusSettings(broker_url="amqp://127.0.0.1//", store_url=url))
    assert "Redis Cluster" in str(info.value)
    assert info.value.context["setting"] == "BUS_STORE_URL"


@pytest.fixture
def cluster_node(tmp_path: Path) -> Iterator[str]:
    """A private ``redis-server --cluster-enabled yes`` (a node of no cluster yet); its URL."""
    if shutil.which("redis-server") is None:
        if REQUIRE_BROKERS:
            pytest.fail("BUS_REQUIRE_BROKERS=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed")
    port = free_port()
    command = [
        *("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"),
        # The cluster bus listens on port + 10000 unless told: a free port may have no such twin.
        *(
            "--cluster-port",
            str(free_port()),
            "--cluster-config-file",
            str(tmp_path / "nodes.conf"),
        ),
        *("--dir", str(tmp_path)),
        *("--save", "", "--appendonly", "no"),
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        import redis

        client = redis.Redis(port=port, socket_timeout=2)
        wait_until(lambda: bool(client.ping()), 15, "the cluster node")
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        end_process_group(process, grace=0)


def test_a_redis_that_answers_as_a_cluster_node_is_refused_at_start(cluster_node: str) -> None:
    settings = BusSettings(
        broker_url="amqp://guest:guest@127.0.0.1:5672//",
        store_url=cluster_node,
        namespace=new_namespace(),
    )
    with pytest.raises(ConfigurationError) as info:  # before the broker is asked anything
        Bus(settings).start()
    assert "Redis Cluster" in str(info.value)
    assert info.value.context["setting"] == "BUS_STORE_URL"


@pytest.mark.parametrize("broker", ["memory://", "redis://127.0.0.1:6379/0"])
def test_quorum_queues_on_a_broker_without_them_are_refused(broker: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Bus(BusSettings(broker_url=broker, queue_type="quorum", namespace=new_namespace()))
    assert "needs RabbitMQ" in str(info.value)
    assert info.value.context["setting"] == "BUS_QUEUE_TYPE"

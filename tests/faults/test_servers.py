"""The fault-test servers and hosts do what the fault tests rely on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kombu
import pytest
import redis

from bus import Bus
from bus.settings import BusSettings
from tests.brokers import new_namespace
from tests.support.process import wait_until
from tests.support.servers import Hosts, RabbitNode, RedisServer

pytestmark = pytest.mark.fault
PING = (
    "import redis, sys; "
    "redis.Redis.from_url(sys.argv[1], socket_timeout=1, socket_connect_timeout=1).ping()"
)


def test_a_redis_restarted_empty_comes_back_without_its_data(redis_server: RedisServer) -> None:
    client = redis_server.client()
    client.set("kept", "1")
    redis_server.restart(empty=False)
    assert client.get("kept") == b"1"
    redis_server.restart(empty=True)
    assert client.get("kept") is None
    client.close()


def test_a_tls_redis_serves_a_bus_over_rediss_with_the_test_ca(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, tls=True).start()
    try:
        assert server.url.startswith("rediss://")
        plain = redis.Redis(port=server.port, socket_timeout=1, socket_connect_timeout=1)
        with pytest.raises(redis.ConnectionError):
            plain.ping()  # TLS only: no plain-text port
        settings = BusSettings(broker_url=server.url, namespace=new_namespace())
        with Bus(settings) as bus:
            bus.register_agent("alice", channels=["#engineering"])
            bus.publish("#engineering", "over TLS", sender="bob")
            received = bus.receive("alice", timeout=5)
            assert received is not None
            assert received.content == "over TLS"
    finally:
        server.close()


def test_a_cut_host_cannot_reach_the_bridge_until_healed(hosts: Hosts, tmp_path: Path) -> None:
    server = RedisServer(tmp_path, bind=(hosts.gateway,)).start()
    try:
        hosts.add("h1")
        hosts.add("h2")
        url = server.url_for(hosts.gateway)

        def reaches(host: str) -> bool:
            argv = ["ip", "netns", "exec", hosts.hosts[host].namespace, sys.executable]
            return subprocess.run([*argv, "-c", PING, url], capture_output=True).returncode == 0

        assert reaches("h1")
        hosts.cut("h1")
        assert not reaches("h1")
        assert reaches("h2")
        hosts.heal("h1")
        wait_until(lambda: reaches("h1"), 10, "h1 to reach the bridge again")  # ARP settles
    finally:
        server.close()


def test_a_rabbit_node_refuses_connections_while_its_app_is_stopped(
    rabbit_node: RabbitNode,
) -> None:
    def connects() -> bool:
        with kombu.Connection(rabbit_node.url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
        return True

    assert connects()
    rabbit_node.stop_app()
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever kombu raises on refusal
            connects()
    finally:
        rabbit_node.start_app()
    assert connects()

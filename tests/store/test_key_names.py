"""The Redis store's key names (:mod:`bus.store.redis.key_names`): every key of a namespace carries
its hash tag, so the store runs on a Redis Cluster, where a namespace is one slot."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bus.channels import Retention
from bus.store import Store, channel_stream, direct_stream
from bus.store.redis import RedisStore
from bus.store.redis import namespace as redis_namespace
from bus.store.redis.key_names import Keys
from bus.store.redis.scripts import source
from tests.brokers import REDIS_URL, new_namespace, require
from tests.store.support import KEEP_ALL, body, broadcast, claim_any, reader


def exercise(store: Store) -> None:
    """Call every store method once, so every script and key is used."""
    store.ping()
    assert store.epochs.establish() == store.epochs.epoch() == store.epochs.expected
    store.epochs.verify()
    store.registry.register_agent("ann")
    store.registry.create_channel(broadcast())
    reader(store, "bob", "#news")
    store.registry.subscribe("ann", "#news")
    news, inbox = channel_stream("#news"), direct_stream("bob")
    aging = Retention(max_messages=2, max_age_seconds=1)
    for stamp in (1000, 1001, 3000):
        store.log.append(news, body("x"), stamp, aging)
        store.log.append(inbox, body("dm"), stamp, KEEP_ALL)
    assert store.log.history(news, after=0, since_ms=0, newest=5)
    assert (store.log.head(news), store.log.retained(news)) == (3, 1)
    assert store.log.claim("ann", news) is not None
    assert claim_any(store, "bob") is not None
    assert store.leases.backlog("bob")
    assert store.log.append(news, body("x"), 3001, aging, coalesce=True).woken is not None
    store.log.unsignal(news, ["ann", "bob"])
    assert store.leases.take("ann", news, "r", 10_000, 0, 5).held
    store.leases.take("ann", news, "r", 10_000, 0, 0)
    step = store.leases.begin("bob", inbox, "w", 10_000, 3)
    assert step.entry is not None
    store.leases.record_failure("bob", inbox, step.entry.seq, 0)
    assert store.leases.renew_lease("bob", inbox, "w", 10_000)
    store.leases.advance("bob", inbox, "w", 10_000, step.entry.seq, 3)
    store.leases.release_lease("bob", inbox, "w")
    store.replies.open_reply("c1", "bob", 10_000)
    assert store.replies.put_reply("c1", "bob", "{}").put
    assert store.replies.wait_reply("c1", 0.1) == "{}"
    store.replies.close_reply("c1")
    assert store.registry.unsubscribe("bob", "#news")
    assert store.registry.get_channel("#all") is not None
    assert store.registry.list_channels()
    assert store.registry.members("#all") == ["ann", "bob"]
    assert store.registry.subscriptions("ann") == ["#all", "#news"]
    assert store.registry.agents() == ["ann", "bob"]
    assert store.registry.is_agent("bob")
    assert store.log.position("bob", inbox) is not None
    assert store.registry.register_agents(["cy", "ann"]) == [True, False]
    assert store.registry.registered(["cy", "zed"]) == [True, False]
    assert store.registry.subscribe_many([("cy", "#news"), ("ann", "#news")]) == [True, False]
    assert store.registry.subscriptions_of(["cy"]) == {"cy": {"#all", "#news"}}


@pytest.mark.redis
def test_every_key_of_a_namespace_carries_its_hash_tag() -> None:
    require("redis")
    namespace = new_namespace()
    store = RedisStore(REDIS_URL, namespace)
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        exercise(store)
        store.replies.open_reply("c2", "bob", 10_000)  # leave keys of every kind behind
        store.replies.put_reply("c2", "bob", "{}")
        keys = list(client.scan_iter(match=f"*{namespace}*", count=1000))
        assert keys
        assert [key for key in keys if not key.startswith(Keys(namespace).prefix)] == []
        store.destroy()
        assert list(client.scan_iter(match=f"*{namespace}*", count=1000)) == []
    finally:
        store.destroy()
        store.close()
        client.close()


def free_port() -> int:
    """A port free on loopback, whose cluster bus port (+10000) is free too."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 10000 < 65536:
            with socket.socket() as bus_probe:
                try:
                    bus_probe.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port pair")


@pytest.fixture
def cluster_url(tmp_path: Path) -> Iterator[str]:
    """A one-node Redis Cluster of our own that holds every slot."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    options = {
        "port": str(port),
        "bind": "127.0.0.1",
        "cluster-enabled": "yes",
        "cluster-config-file": str(tmp_path / "nodes.conf"),
        "dir": str(tmp_path),
        "save": "",
        "appendonly": "no",
    }
    process = subprocess.Popen(
        [server, *(part for name, value in options.items() for part in (f"--{name}", value))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.cluster("ADDSLOTSRANGE", "0", "16383")
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        while client.cluster("info")["cluster_state"] != "ok":
            assert time.monotonic() < deadline, "the cluster did not come up"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(10)


@pytest.mark.redis
@pytest.mark.slow
def test_the_store_runs_on_a_cluster_that_refuses_cross_slot_scripts(
    cluster_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A script with a shebang may not touch keys of two slots (Redis >= 7); the store's own
    # scripts stay without one so that they also run on Redis 6.
    monkeypatch.setattr(redis_namespace, "source", lambda name: "#!lua\n" + source(name))
    store = RedisStore(cluster_url, new_namespace())
    try:
        exercise(store)
        store.destroy()
        assert store.registry.agents() == []
    finally:
        store.close()

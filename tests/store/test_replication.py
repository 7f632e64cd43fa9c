"""Replicas a publish waits for, and fencing after a failover, on a private Redis master with no
replica (issue 20): ``WAIT`` answers 0 there, and a failover's loss is what is left after the
newest appends are taken back out of the master by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bus.channels import Retention
from bus.cli import main
from bus.errors import AgentOverloaded, NotReplicated
from bus.settings.replication import Replication
from bus.store import Dedupe
from bus.store.contracts.guards import Checks
from bus.store.redis import RedisStore
from bus.store.redis.key_names import Keys
from tests.brokers import new_namespace
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis
STREAM = "d:ops"


def _local(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone().isoformat(timespec="seconds")


KEEP = Retention(max_messages=100)


def _store(master: RedisServer, min_replicas: int = 0) -> tuple[RedisStore, Keys]:
    namespace = new_namespace()
    store = RedisStore(master.url, namespace, Replication(None, min_replicas, 50))
    store.epochs.establish()
    return store, Keys(namespace)


def _append(store: RedisStore, text: str, key: str | None = None) -> int:
    dedupe = None if key is None else Dedupe(key, 60_000)
    return store.log.append(STREAM, f'{{"content":"{text}"}}', 1, KEEP, dedupe=dedupe).seq


def test_a_publish_no_replica_confirmed_is_not_replicated_and_its_key_stays(
    master: RedisServer,
) -> None:
    store, _ = _store(master, min_replicas=1)
    try:
        with pytest.raises(NotReplicated) as info:
            _append(store, "first", key="k1")
        assert info.value.context | {"stream": STREAM} == {
            "stream": STREAM,
            "seq": 1,
            "replicas": 0,
            "wanted": 1,
        }
        assert "BUS_STORE_MIN_REPLICAS" in str(info.value)
        # The retry with the same key is not a duplicate: the same seq, waited on again.
        with pytest.raises(NotReplicated) as again:
            _append(store, "first", key="k1")
        assert again.value.context["seq"] == 1
        assert [entry.seq for entry in store.log.history(STREAM)] == [1]
    finally:
        store.destroy()
        store.close()


def test_with_no_replica_asked_a_publish_does_not_wait(master: RedisServer) -> None:
    store, _ = _store(master)
    try:
        assert [_append(store, "m") for _ in range(3)] == [1, 2, 3]
        assert store.epochs.fences() == []
    finally:
        store.destroy()
        store.close()


def _lose_newest(master: RedisServer, keys: Keys, count: int) -> None:
    """What a failover to a replica that lacked the newest ``count`` appends leaves."""
    client = master.client()
    try:
        client.hincrby(keys.heads, STREAM, -count)
        for _ in range(count):
            client.rpop(keys.log(STREAM))
            client.rpop(keys.indexed(STREAM))
    finally:
        client.close()


def test_an_append_after_a_failover_lost_acknowledged_seqs_fences_them(
    master: RedisServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store, keys = _store(master)
    try:
        for text in ("a", "b", "c", "d", "e"):
            _append(store, text)
        _lose_newest(master, keys, 2)
        assert _append(store, "f") == 6  # never 4: seqs 4 and 5 were acknowledged already
        [fence] = store.epochs.fences()
        assert (fence.stream, fence.first, fence.last) == (STREAM, 4, 5)
        entries = store.log.history(STREAM)
        assert [(entry.seq, entry.lost) for entry in entries] == [
            (1, False),
            (2, False),
            (3, False),
            (4, True),
            (5, True),
            (6, False),
        ]
        _lose_newest(master, keys, 1)
        [checked] = store.epochs.check_heads()  # the worker's beat finds it without an append
        assert (checked.first, checked.last) == (6, 6)
        assert store.epochs.check_heads() == []
        assert len(store.epochs.fences()) == 2
        # `bus health` names them (and still answers whether the servers do).
        monkeypatch.setenv("BUS_BROKER_URL", master.url)
        monkeypatch.setenv("BUS_NAMESPACE", keys.prefix[1:-2])
        assert main(["health"]) == 0
        lost = [line for line in capsys.readouterr().out.splitlines() if line.startswith("LOST")]
        assert lost == [
            f"LOST    DMs to ops #4-#5: acknowledged, then lost in a store failover (fenced "
            f"{_local(fence.at_ms)} by {fence.by}; these seqs are never reused)",
            f"LOST    DMs to ops #6: acknowledged, then lost in a store failover (fenced "
            f"{_local(checked.at_ms)} by {checked.by}; these seqs are never reused)",
        ]
    finally:
        store.destroy()
        store.close()


def test_the_seqs_a_fence_burns_count_toward_the_owner_s_pending_count(
    master: RedisServer,
) -> None:
    # The guards' unread bounds move with the heads' total: a fence moves a head up without an
    # append, so it must move the total too, or an overloaded owner would go unnoticed.
    store, keys = _store(master)
    guarded = Checks("ann", "ops", max_pending=5)
    try:
        store.registry.register_agent("ops")

        def append(text: str) -> int:
            body = f'{{"content":"{text}"}}'
            return store.log.append(STREAM, body, 1, KEEP, checks=guarded).seq

        assert [append(text) for text in ("a", "b", "c")] == [1, 2, 3]
        _lose_newest(master, keys, 2)
        client = master.client()
        try:
            client.hincrby(keys.heads, "", -2)  # the replica lacked the total's moves too
        finally:
            client.close()
        assert append("d") == 4  # seqs 2 and 3 burnt: ops has 4 messages unread
        assert append("e") == 5
        with pytest.raises(AgentOverloaded) as refused:
            append("f")
        assert refused.value.pending == 5
    finally:
        store.destroy()
        store.close()

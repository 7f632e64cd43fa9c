"""Publishing is safe to retry: a publish whose message is stored succeeds from the caller's
view (its deliveries are repaired by catch-up), and an idempotency key makes a retry store
nothing new and answer the first publish's seq, as JetStream's Nats-Msg-Id and Kafka's
idempotent producer do."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator

import pytest

from bus import Bus
from bus.channels import Retention
from bus.errors import BrokerUnavailable
from bus.store import Dedupe, Store, channel_stream
from tests.brokers import REDIS_URL, require, settings_for
from tests.faults.workers import fast_settings
from tests.support.servers import RabbitNode

KEEP = Retention(max_messages=100)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    require(request.param)
    bus = Bus(settings_for(request.param)).start()
    try:
        yield bus.store
    finally:
        bus.destroy()


def test_an_append_with_a_used_idempotency_key_appends_nothing_and_answers_the_first_seq(
    store: Store,
) -> None:
    stream = channel_stream("#engineering")
    key = Dedupe(uuid.uuid4().hex, 60_000)
    first = store.log.append(stream, '{"content":"a"}', 1000, KEEP, dedupe=key)
    again = store.log.append(stream, '{"content":"a"}', 1001, KEEP, dedupe=key)
    other = store.log.append(stream, '{"content":"b"}', 1002, KEEP, dedupe=Dedupe("other", 60_000))
    assert not first.duplicate
    assert again.duplicate
    assert again.seq == first.seq
    assert again.recipients == []
    assert other.seq == first.seq + 1
    assert store.log.retained(stream) == 2


def test_an_idempotency_key_is_forgotten_after_its_window(store: Store) -> None:
    stream = channel_stream("#engineering")
    first = store.log.append(stream, "{}", 1000, KEEP, dedupe=Dedupe("k", 1))
    time.sleep(0.05)
    assert store.log.append(stream, "{}", 1001, KEEP, dedupe=Dedupe("k", 1)).seq == first.seq + 1


@pytest.mark.parametrize("transport", ["memory", "redis"])
def test_publish_and_send_retried_with_the_same_key_are_stored_once(transport: str) -> None:
    require(transport)
    bus = Bus(settings_for(transport)).start()
    try:
        bus.register_agent("bob", channels=["#engineering"])
        one = bus.publish("#engineering", "deploy", sender="alice", idempotency_key="d-1")
        two = bus.publish("#engineering", "deploy", sender="alice", idempotency_key="d-1")
        dm = bus.send("bob", "hi", sender="alice", idempotency_key="d-1")  # another stream
        dm_again = bus.send("bob", "hi", sender="alice", idempotency_key="d-1")
        assert two.seq == one.seq
        assert dm_again.seq == dm.seq
        got = [bus.receive("bob", timeout=2) for _ in range(2)]
        assert sorted((m.channel or "DM", m.seq) for m in got if m is not None) == sorted(
            [("#engineering", one.seq), ("DM", dm.seq)]
        )
        assert bus.receive("bob", timeout=0.3) is None, "nothing was stored twice"
        posted = bus.post(one.model_copy(update={"seq": None}), idempotent=True)
        assert posted.seq != one.seq  # its id was no key before: stored now ...
        assert bus.post(one, idempotent=True).seq == posted.seq  # ... and once
    finally:
        bus.destroy()


@pytest.mark.fault
@pytest.mark.amqp
def test_a_publish_during_a_broker_outage_is_stored_delivered_later_and_safe_to_retry(
    rabbit_node: RabbitNode, shared_redis: None, caplog: pytest.LogCaptureFixture
) -> None:
    settings = fast_settings(rabbit_node.url, store_url=REDIS_URL)
    bus = Bus(settings).start()
    try:
        bus.register_agent("bob", channels=["#engineering"])
        assert bus.receive("bob", timeout=0.2) is None
        rabbit_node.stop_app()
        try:
            with caplog.at_level(logging.WARNING, logger="bus.publishing.publisher"):
                first = bus.publish("#engineering", "x", sender="alice", idempotency_key="k1")
            assert any("catch-up" in r.getMessage() for r in caplog.records)
            # The caller retries anyway (it saw a timeout, say): nothing new is stored.
            retry = bus.publish("#engineering", "x", sender="alice", idempotency_key="k1")
            assert retry.seq == first.seq
        finally:
            rabbit_node.start_app()
        got = None
        for _ in range(10):  # the inbox's broken connection is replaced on a receive
            try:
                got = bus.receive("bob", timeout=2)
            except BrokerUnavailable:  # while its connection is replaced
                continue
            break
        assert got is not None
        assert got.seq == first.seq
        assert bus.receive("bob", timeout=0.5) is None, "the retry stored nothing"
    finally:
        bus.destroy()

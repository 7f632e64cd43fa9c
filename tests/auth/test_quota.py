"""Publish quotas: one contract for the in-process and the Redis token buckets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bus.auth.quota import Buckets, MemoryBuckets, PublishQuota, RedisBuckets, open_buckets
from bus.errors import RateLimited
from bus.settings import BusSettings
from tests.brokers import REDIS_URL, new_namespace, require

T0 = 1_000_000_000  # ms; the tests pass the time so nothing depends on the clock


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def buckets(request: pytest.FixtureRequest) -> Iterator[Buckets]:
    """Empty buckets of each kind, in a namespace of their own; deleted afterwards."""
    instance: Buckets
    if request.param == "memory":
        instance = MemoryBuckets()
    else:
        require("redis")
        instance = RedisBuckets(REDIS_URL, new_namespace())
    try:
        yield instance
    finally:
        instance.destroy()
        instance.close()


def test_a_full_bucket_allows_a_burst_then_refuses_with_retry_after(buckets: Buckets) -> None:
    quota = PublishQuota(buckets, rate=2.0, burst=3)
    for _ in range(3):
        quota.charge("looper", now_ms=T0)
    with pytest.raises(RateLimited) as caught:
        quota.charge("looper", now_ms=T0)
    error = caught.value
    assert error.context == {"identity": "looper", "rate": 2.0, "burst": 3, "retry_after": 0.5}
    assert "'looper' publishes faster than 2 messages/s" in str(error)


def test_a_limited_identity_leaves_others_unaffected(buckets: Buckets) -> None:
    quota = PublishQuota(buckets, rate=1.0, burst=1)
    quota.charge("looper", now_ms=T0)
    with pytest.raises(RateLimited):
        quota.charge("looper", now_ms=T0)
    quota.charge("alice", now_ms=T0)
    quota.charge("bob", now_ms=T0)


def test_tokens_come_back_at_the_rate_and_never_beyond_the_burst(buckets: Buckets) -> None:
    assert [buckets.take("a", 4.0, 2, T0) for _ in range(3)] == [0.0, 0.0, 0.25]
    assert buckets.take("a", 4.0, 2, T0 + 100) == 0.15  # a refused take costs nothing
    assert buckets.take("a", 4.0, 2, T0 + 250) == 0.0
    # Ten seconds idle refill two tokens, not forty.
    later = T0 + 10_250
    assert [buckets.take("a", 4.0, 2, later) for _ in range(3)] == [0.0, 0.0, 0.25]


def test_a_clock_that_goes_back_refills_nothing(buckets: Buckets) -> None:
    assert buckets.take("a", 1.0, 1, T0) == 0.0
    assert buckets.take("a", 1.0, 1, T0 - 5_000) > 0


def test_without_a_caller_time_the_stores_clock_is_used(buckets: Buckets) -> None:
    assert [buckets.take("a", 0.5, 2) > 0 for _ in range(3)] == [False, False, True]


@pytest.mark.parametrize("rate", [None, 0.0])
def test_no_rate_means_no_limit(buckets: Buckets, rate: float | None) -> None:
    quota = PublishQuota(buckets, rate=rate, burst=1)
    for _ in range(50):
        quota.charge("looper", now_ms=T0)


@pytest.mark.redis
def test_every_process_of_an_identity_draws_from_one_redis_bucket() -> None:
    require("redis")
    namespace = new_namespace()
    first, second = RedisBuckets(REDIS_URL, namespace), RedisBuckets(REDIS_URL, namespace)
    try:
        assert first.take("looper", 1.0, 2, T0) == 0.0
        assert second.take("looper", 1.0, 2, T0) == 0.0
        assert first.take("looper", 1.0, 2, T0) == 1.0
        assert second.take("other", 1.0, 2, T0) == 0.0
    finally:
        first.destroy()
        first.close()
        second.close()


def test_the_quota_comes_from_the_settings() -> None:
    quota = PublishQuota.from_settings(
        BusSettings(publish_rate=3.5, publish_burst=7), open_buckets("memory://", new_namespace())
    )
    assert (quota.rate, quota.burst) == (3.5, 7)
    assert PublishQuota.from_settings(BusSettings(publish_rate=0), MemoryBuckets()).rate is None

"""A worker whose lease moved (it was cut off, paused, or slow) cannot commit its position.

This is the store step behind the partition test's promise: the host that took a stream over
owns its order, and the cut-off worker's late commit is refused. Simulated in the store with
two lease tokens and a lease that lapses, on the in-process store and on Redis.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bus import Bus
from bus.store import channel_stream
from tests.brokers import require, settings_for

pytestmark = pytest.mark.fault
CHANNEL = "#engineering"


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def started(request: pytest.FixtureRequest) -> Iterator[Bus]:
    """A started bus with agent ``a`` on #engineering and two messages there."""
    require(request.param)
    bus = Bus(settings_for(request.param)).start()
    try:
        bus.register_agent("a", channels=[CHANNEL])
        for content in ("one", "two"):
            bus.publish(CHANNEL, content, sender="tester")
        yield bus
    finally:
        bus.destroy()


def test_a_commit_with_a_lapsed_lease_is_refused_once_another_worker_holds_it(
    started: Bus,
) -> None:
    store = started.store
    stream = channel_stream(CHANNEL)
    held, body, *_ = store.leases.begin("a", stream, "cut-off", 100, 1)
    assert held
    assert body is not None
    time.sleep(0.25)  # the cut-off worker cannot renew: its lease lapses
    held, body, *_ = store.leases.begin("a", stream, "took-over", 10_000, 1)
    assert held, "the lapsed lease should have been taken over"
    assert body is not None
    held, *_ = store.leases.advance("a", stream, "cut-off", 100, 1, 1)  # the late commit
    assert not held
    assert store.log.position("a", stream) == 0, "the late commit moved the position"

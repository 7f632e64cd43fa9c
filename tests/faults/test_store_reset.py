"""A store that lost its state is noticed at once: publishers and readers get ``StoreReset``
(never a silent success into a vanished registry), then carry on once it is re-established.

A private ``redis-server`` (broker and store) is restarted without its data, for real.
"""

from __future__ import annotations

import logging

import pytest

from bus import Bus
from bus.errors import StoreReset, UnknownChannel
from tests.faults.workers import fast_settings
from tests.support.servers import RedisServer

pytestmark = [pytest.mark.fault, pytest.mark.redis]


def test_publishing_after_an_empty_restart_raises_store_reset_until_a_bus_re_establishes_it(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = fast_settings(redis_server.url)
    with Bus(settings) as bus:
        bus.register_agent("bob", channels=["#engineering"])
        assert bus.publish("#engineering", "one", sender="alice").seq == 1
        redis_server.restart(empty=True)
        with caplog.at_level(logging.ERROR, logger="bus.registry.service"):
            for _ in range(3):  # the cached spec does not hide it; every try is refused
                with pytest.raises(StoreReset) as caught:
                    bus.publish("#engineering", "two", sender="alice")
        assert caught.value.found is None
        resets = [r for r in caplog.records if "STORE RESET" in r.getMessage()]
        assert len(resets) == 1, "the loss is logged once"
        assert "#engineering" in resets[0].getMessage()
        assert "bob" in resets[0].getMessage()
        with pytest.raises(StoreReset):
            bus.receive("bob", timeout=0.1)

        with Bus(settings) as other:  # a process starting now re-establishes the store
            other.register_agent("bob", channels=["#engineering"])
            with pytest.raises(StoreReset) as adopted:  # told once, then it carries on
                bus.publish("#engineering", "three", sender="alice")
            assert adopted.value.found == other.store.epochs.expected
            four = bus.publish("#engineering", "four", sender="alice")
            assert four.seq == 1
            got = bus.receive("bob", timeout=5)
            assert got is not None
            assert got.content == "four"


def test_a_channel_gone_with_the_store_is_unknown_to_a_publisher_that_cached_it(
    redis_server: RedisServer,
) -> None:
    settings = fast_settings(redis_server.url)
    with Bus(settings) as bus:
        bus.create_channel("#rd")
        bus.publish("#rd", "cached", sender="alice")
        redis_server.restart(empty=True)
        Bus(settings).start().stop()  # re-established, without #rd
        with pytest.raises(StoreReset):
            bus.publish("#rd", "x", sender="alice")
        for _ in range(2):
            with pytest.raises(UnknownChannel):
                bus.publish("#rd", "x", sender="alice")
        assert bus.store.log.head("c:#rd") == 0, "nothing was appended to the vanished channel"

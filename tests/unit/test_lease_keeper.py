"""The worker's lease keeper warns of a lost lease only if it still meant to hold it."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from bus.worker.leases import LeaseKeeper


def test_a_lease_given_up_while_renewing_is_no_lost_lease(caplog: pytest.LogCaptureFixture) -> None:
    renewing = threading.Event()
    keeper: LeaseKeeper

    def renew(agent: str, stream: str, token: str) -> bool:
        keeper.drop(agent, stream)  # the run ended meanwhile: the store gave the lease up
        renewing.set()
        return False

    keeper = LeaseKeeper(renew, ttl=0.03)
    with caplog.at_level(logging.WARNING, logger="bus.worker.leases"):
        keeper.hold("ann", "c:#eng", "t1")
        assert renewing.wait(5)
        keeper.stop()
    assert "lost the lease" not in caplog.text


def test_a_lease_taken_over_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    renewed = threading.Event()

    def renew(agent: str, stream: str, token: str) -> bool:
        renewed.set()
        return False

    keeper = LeaseKeeper(renew, ttl=0.03)
    with caplog.at_level(logging.WARNING, logger="bus.worker.leases"):
        keeper.hold("ann", "c:#eng", "t1")
        assert renewed.wait(5)
        deadline = time.monotonic() + 5
        while "lost the lease" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)  # the keeper logs after renew returns
        keeper.stop()
    assert "lost the lease on c:#eng for ann" in caplog.text

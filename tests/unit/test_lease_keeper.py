"""The worker's lease keeper warns of a lost lease only if it still meant to hold it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest

from bus.worker.lease_keeper import LeaseKeeper

WARNING = "ann lost its lease on #eng"


def renew_once(caplog: pytest.LogCaptureFixture, renew: Callable[[LeaseKeeper], bool]) -> str:
    """Hold one lease, let the keeper renew it once with ``renew``, return what it logged."""
    renewed = threading.Event()

    def renewing(agent: str, stream: str, token: str) -> bool:
        renewed.set()
        return renew(keeper)

    keeper = LeaseKeeper(renewing, ttl=0.03)
    with caplog.at_level(logging.WARNING, logger="bus.worker.lease_keeper"):
        keeper.hold("ann", "c:#eng", "t1")
        assert renewed.wait(5)
        time.sleep(0.05)  # the keeper logs after renew returns
        keeper.stop()
    return caplog.text


def test_a_lease_given_up_while_renewing_is_no_lost_lease(caplog: pytest.LogCaptureFixture) -> None:
    def run_ended(keeper: LeaseKeeper) -> bool:
        keeper.drop("ann", "c:#eng")  # meanwhile the run drained and the store let go
        return False

    assert WARNING not in renew_once(caplog, run_ended)


def test_a_lease_taken_over_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    assert WARNING in renew_once(caplog, lambda keeper: False)

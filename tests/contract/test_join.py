"""bus.testing.join: wait until an agent has caught up with what was sent to it, on every
transport."""

from __future__ import annotations

import pytest

from bus import Bus, BusTimeout, UnknownAgent
from bus.channels import channel_stream, direct_stream
from bus.testing import join, lag_of
from tests.helpers.probe import receive_all


def test_join_returns_once_the_agent_received_everything(bus: Bus) -> None:
    bus.create_channel("#jobs")
    bus.register_agent("ann", channels=["#jobs"])
    join(bus, "ann", timeout=0)  # nothing sent yet: nothing to wait for
    bus.publish("#jobs", "one", sender="lead")
    bus.publish("#jobs", "two", sender="lead")
    bus.send("ann", "three", sender="lead")
    assert lag_of(bus, "ann") == {channel_stream("#jobs"): 2, direct_stream("ann"): 1}
    assert len(receive_all(bus, "ann", wait=0.2)) == 3
    join(bus, "ann", timeout=5)
    assert lag_of(bus, "ann") == {}


def test_join_times_out_naming_the_agent_and_its_lag(bus: Bus) -> None:
    bus.create_channel("#jobs")
    bus.register_agent("ann", channels=["#jobs"])
    bus.publish("#jobs", "one", sender="lead")
    with pytest.raises(BusTimeout) as info:
        join(bus, "ann", timeout=0.1)
    assert info.value.context["agent"] == "ann"
    assert info.value.context["lag"] == {channel_stream("#jobs"): 1}
    assert str(info.value) == "ann is still behind after 0.1 s: c:#jobs by 1"


def test_joining_an_agent_nobody_registered_is_refused(bus: Bus) -> None:
    """It has no backlog yet; answering at once would let a test race its worker."""
    with pytest.raises(UnknownAgent) as info:
        join(bus, "nobody", timeout=0)
    assert info.value.context["agent"] == "nobody"

"""How soon a stream held by another worker's lease goes on, in one process on memory://.

An embedded worker hosts the recorder agents with sweeps too rare to matter (600 s): a stream
only goes on here because the worker takes the lease over when its holder stopped beating, or
looks again when a live holder's lease expires. The other worker is played by the store: a
liveness record and a lease in its name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import Task
from celery.exceptions import Retry

from bus import Bus
from bus.broker.celery_app import create_app
from bus.broker.wire import DELIVER_TASK
from bus.channels import Stream
from bus.message import Message
from bus.store import lease_token
from bus.worker import EmbeddedWorker, create_worker_app, install, load_agents
from tests.auth.deploy import inject
from tests.brokers import settings_for
from tests.helpers import recorder_agents
from tests.worker.harness import wait_for

pytestmark = pytest.mark.memory
STREAM = Stream.of_channel("#engineering").id


@pytest.fixture
def hosted() -> Iterator[Bus]:
    """The recorder agents in an embedded worker that never sweeps within a test."""
    recorder_agents.RUNS.clear()
    settings = settings_for("memory", sweep_interval=600.0, lease_seconds=600.0)
    app = create_app(settings)
    install(app, settings, load_agents(["tests.helpers.recorder_agents"]))
    with Bus(settings, app=app) as bus, EmbeddedWorker(app, pool="threads", concurrency=2):
        wait_for(lambda: "#engineering" in bus.subscriptions("rec-a"), 10, "registration")
        yield bus
        bus.destroy()


def _done(agent: str) -> list[int]:
    fields = (line.split() for line in list(recorder_agents.RUNS))
    return [int(f[3]) for f in fields if f[0] == "done" and f[1] == agent]


def _held_by(bus: Bus, worker: str, lease_ms: int) -> None:
    """Message #1 of #engineering stored (not delivered), rec-a's stream leased by ``worker``
    (alive for 600 s) for ``lease_ms``, never renewed nor handed back."""
    bus.store.liveness.beat(worker, 600_000, ["rec-a"])
    inject(bus, Message(channel="#engineering", sender="tester", content="m1"))
    token = lease_token(worker, "run")
    assert bus.store.leases.begin("rec-a", STREAM, token, lease_ms, 2**62).entry is not None


def test_a_stream_held_by_a_worker_that_stops_beating_goes_on_once_its_record_lapses(
    hosted: Bus,
) -> None:
    _held_by(hosted, "other/1/aa", 600_000)
    hosted.publish("#engineering", "m2", sender="tester")
    wait_for(lambda: _done("rec-b") == [1, 2], 10, "rec-b, whose stream is free")
    assert _done("rec-a") == []  # its lease is held by a live worker, for 600 s
    hosted.store.liveness.beat("other/1/aa", 1, ["rec-a"])  # its last beat: it dies
    wait_for(lambda: _done("rec-a") == [1, 2], 20, "rec-a's stream to be taken over")


def test_a_live_holders_lease_is_looked_at_again_when_it_expires(hosted: Bus) -> None:
    _held_by(hosted, "slow/2/bb", 1_500)
    hosted.publish("#engineering", "m2", sender="tester")
    wait_for(lambda: _done("rec-b") == [1, 2], 10, "rec-b")
    wait_for(lambda: _done("rec-a") == [1, 2], 20, "rec-a, at the lease's expiry")


def test_a_delivery_waiting_on_the_store_is_retried_past_celerys_default_of_three() -> None:
    """``task.retry(max_retries=None)`` means the task's ``max_retries``, 3 by default: the
    delivery task's own is ``None``, so its retries go on while the store is down."""
    app = create_worker_app(settings_for("memory"), {})
    task: Task = app.tasks[DELIVER_TASK]
    assert task.max_retries is None
    task.push_request(id="t", retries=50, args=["rec-a", None, 1], kwargs={}, delivery_info={})
    try:
        with pytest.raises(Retry):
            task.retry(countdown=0.01, max_retries=None)
    finally:
        task.pop_request()

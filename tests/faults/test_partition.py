"""Workers on two test hosts; one host is cut off the network mid-stream.

Two ``celery -A bus worker`` processes, each in a network namespace of its own (hosts ``w1`` and
``w2``), host the same recorder agents against a private Redis (broker and store) on the
bridge, as on a third machine. Mid-stream, while one of them runs a handler (whichever is seen
first: the broker decides which host wins each stream's lease), its link goes down: its packets
vanish, no reset, no error; the process keeps running. The other host must take the agents'
streams over within the lease time (``lease_seconds`` = 2 s) plus a retry, with nothing
acknowledged lost and the order of each stream kept.

What a partitioned worker still running a handler can and cannot be prevented from doing:

- It *can* finish the handler, and whatever the handler does outside the bus (a write to a
  database, an HTTP call, the recorder's own write once the network is back) happens: the bus
  cannot stop a process it cannot reach. So a message whose handler was cut off may take
  effect twice (once there, once on the host that took over): handlers whose effects leave the
  bus must be idempotent (key them on ``message.id``) — delivery is at least once.
- It *cannot* reach the store or the broker while partitioned (no publish, no commit, no lease
  renewal), so its lease lapses and the other host takes the stream over and owns its order.
- It *must not* commit its position once its lease has moved. Today it still can, if it comes
  back before the new owner has passed that seq: the store's ADVANCE step moves the position
  before it checks the lease token (tests/faults/test_stale_commit.py, xfail). That is not a
  loss (it commits only a seq it handled) but it is outside the lease; the fix checks the
  token first. Once healed it finds the lease gone and stops handling that stream.

This test kills the cut-off worker before healing, so the ledger counts only what went through
the bus.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bus import Bus
from bus.settings import BusSettings
from tests.brokers import new_namespace
from tests.faults.ledger import Ledger, Publisher, records
from tests.faults.workers import FaultWorker, fast_settings
from tests.support.process import wait_until
from tests.support.servers import Hosts, RabbitNode, RedisServer

pytestmark = [pytest.mark.fault, pytest.mark.slow]
AGENTS = ("rec-a", "rec-b")
CHANNEL = "#engineering"


@pytest.fixture
def bridged_redis(hosts: Hosts, tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis on loopback and on the test bridge, reachable from every test host."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory, bind=(hosts.gateway,))
    try:
        yield server.start()
    finally:
        server.close()


def _hosted(bus: Bus) -> bool:
    agents = set(bus.agents())
    return all(a in agents and CHANNEL in bus.subscriptions(a) for a in AGENTS)


def _handled_elsewhere(rows: list[list[str]], agent: str, after: int, pid: str) -> bool:
    """Whether a process other than ``pid`` handled a seq of ``agent`` above ``after``."""
    return any(r[0] == "done" and r[1] == agent and r[5] != pid and int(r[3]) > after for r in rows)


@pytest.fixture(params=["redis", pytest.param("amqp", marks=pytest.mark.amqp)])
def bridged_settings(
    request: pytest.FixtureRequest, hosts: Hosts, bridged_redis: RedisServer, tmp_path: Path
) -> Iterator[tuple[BusSettings, BusSettings]]:
    """Settings for the hosts (servers at the bridge address) and for the test (loopback).

    Redis: the private Redis is broker and store. amqp: a RabbitMQ node of the test's own that
    listens on the bridge too (not the session's node: the bridge did not exist when it started),
    with the private Redis as store.
    """
    namespace = new_namespace()
    if request.param == "redis":
        yield (
            fast_settings(bridged_redis.url_for(hosts.gateway), namespace=namespace),
            fast_settings(bridged_redis.url, namespace=namespace),
        )
        return
    node = RabbitNode(tmp_path / "rabbit", listen=(hosts.gateway,))
    try:
        node.start()
        yield (
            fast_settings(
                node.url_for(hosts.gateway),
                store_url=bridged_redis.url_for(hosts.gateway),
                namespace=namespace,
            ),
            fast_settings(node.url, store_url=bridged_redis.url, namespace=namespace),
        )
    finally:
        node.close()


def test_a_host_cut_off_mid_stream_hands_its_streams_over_within_the_lease(
    hosts: Hosts,
    bridged_redis: RedisServer,
    bridged_settings: tuple[BusSettings, BusSettings],
    tmp_path: Path,
) -> None:
    hosts.add("w1")
    hosts.add("w2")
    remote, local = bridged_settings
    namespace = local.namespace
    client = bridged_redis.client()
    ledger = Ledger()
    began = time.monotonic()
    workers = {
        name: FaultWorker(
            remote,
            log=tmp_path / f"{name}.log",
            record_url=bridged_redis.url_for(hosts.gateway),
            hosts=hosts,
            host=name,
        )
        for name in ("w1", "w2")
    }
    for worker in workers.values():
        worker.wait_ready()
    with Bus(local) as bus:
        wait_until(lambda: _hosted(bus), 30, "the workers to register their agents")
    publisher = Publisher(local, ledger, CHANNEL, count=400, content="sleep:0.02", timeout=90)
    publisher.start()
    # Which host wins each agent's lease is the broker's choice (one host may hold both
    # streams): the host cut off is whichever is first seen in the middle of a handler.
    cut: list[str] = []
    try:

        def one_mid_handler() -> bool:
            rows = records(client, namespace)
            for name, worker in workers.items():
                mine = [r for r in rows if r[5] == str(worker.pid)]
                done = sum(1 for r in mine if r[0] == "done")
                if done >= 10 and mine[-1][0] == "start":
                    cut.append(name)
                    return True
            return False

        wait_until(one_mid_handler, 60, "a host to be in the middle of a handler", interval=0.01)
        (cut_host,) = cut
        (other_host,) = set(workers) - {cut_host}
        cut_pid = str(workers[cut_host].pid)
        hosts.cut(cut_host)
        cut_at = time.monotonic()
        at_cut = records(client, namespace)
        last_done = {
            agent: max((int(r[3]) for r in at_cut if r[0] == "done" and r[1] == agent), default=0)
            for agent in AGENTS
        }
        held_by_cut = {r[1] for r in at_cut[-4:] if r[5] == cut_pid and r[0] == "start"}
        takeover: dict[str, float] = {}

        def progressed() -> bool:
            rows = records(client, namespace)
            for agent in AGENTS:
                if agent not in takeover and _handled_elsewhere(
                    rows, agent, last_done[agent], cut_pid
                ):
                    takeover[agent] = time.monotonic() - cut_at
            ledger.read_handled(rows)
            return (
                len(takeover) == len(AGENTS)
                and not publisher.is_alive()
                and ledger.all_handled(AGENTS, CHANNEL)
            )

        wait_until(progressed, 120, "every acknowledged message to be handled elsewhere", 0.05)
        publisher.finish(timeout=10)
        assert workers[other_host].alive, f"the worker on {other_host} exited"
        # The cut-off worker dies before the network comes back: see the module doc.
        workers[cut_host].kill()
        hosts.heal(cut_host)
        ledger.read_handled(records(client, namespace))
    finally:
        publisher.stop_event.set()
        publisher.join(30)
        client.close()
    title = (
        f"{local.broker_url.split(':')[0]}: a worker host cut off mid-stream, the other takes over"
    )
    report = ledger.report(title, AGENTS, CHANNEL)
    print(report)
    print(
        f"{cut[0] if cut else 'no host'} cut, holding {sorted(held_by_cut) or 'no stream'}; "
        + "take-over after the cut: "
        + ", ".join(f"{a} {s:.1f} s" for a, s in sorted(takeover.items()))
        + f"; whole test {time.monotonic() - began:.1f} s"
    )
    assert report.raw_errors == {}
    assert report.refused == {}
    assert report.lost == 0
    assert report.order_violations == 0
    # At least once, as the module doc says: a handler the cut host ended just as the link went
    # down had its record written but not its commit, and runs again on the other host (at most
    # the message in hand of each stream the cut host held); nothing else is handled twice.
    assert report.duplicated <= len(held_by_cut), report

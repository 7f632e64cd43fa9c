"""The console of a Redis fleet and of a RabbitMQ one (issue 19): its server is killed and
started again while the page is open, messages keep coming meanwhile, and the page resumes from
the last seq it had (``Last-Event-ID``) with no gap and no duplicate: the seqs on the page are
history's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bus import Bus
from bus.names import encode_channel
from bus.settings import BusSettings
from bus.testing import environment_for
from tests.brokers import require, settings_for
from tests.console.conftest import free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow]

CHANNEL = "#engineering"
DEADLINE_MS = 15_000


def _start(settings: BusSettings, port: int) -> subprocess.Popen[bytes]:
    """``bus web`` on ``port``, once it answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bus", "web", "--port", str(port)],
        env=environment_for(settings),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                return process
        except OSError:
            assert process.poll() is None, "bus web exited"
            assert time.monotonic() < deadline, "bus web did not answer within 20 s"
            time.sleep(0.1)


@pytest.fixture(params=["redis", pytest.param("amqp", marks=pytest.mark.amqp)])
def fleet(request: pytest.FixtureRequest) -> Iterator[Bus]:
    """A bus on a Redis fleet, and on a RabbitMQ one (Redis as the store)."""
    require(request.param)
    bus = Bus(settings_for(request.param)).start()
    bus.register_agent("alice", channels=[CHANNEL])
    try:
        yield bus
    finally:
        bus.destroy()


def _page_seqs(page: Any) -> list[int]:
    found = page.eval_on_selector_all("#timeline li.msg", "e => e.map(x => Number(x.dataset.seq))")
    return [int(seq) for seq in found]


def _wait_last(page: Any, seq: int) -> None:
    page.wait_for_selector(f"#timeline li.msg[data-seq='{seq}']", timeout=DEADLINE_MS)


def test_the_page_resumes_after_the_server_restarts_with_no_gap_and_no_duplicate(
    fleet: Bus, page: Any
) -> None:
    port = free_port()
    server = _start(fleet.settings, port)
    try:
        for n in range(3):
            fleet.publish(CHANNEL, f"before the page {n}", sender="alice")
        page.goto(f"http://127.0.0.1:{port}/c/{encode_channel(CHANNEL)}")
        page.wait_for_selector("#timeline[data-state='live']", timeout=DEADLINE_MS)
        last = 0
        for n in range(3):
            last = fleet.publish(CHANNEL, f"live {n}", sender="alice").seq or 0
        _wait_last(page, last)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        page.wait_for_selector("#timeline:not([data-state='live'])", timeout=DEADLINE_MS)
        for n in range(4):
            fleet.publish(CHANNEL, f"while the console is down {n}", sender="alice")
        server = _start(fleet.settings, port)
        for n in range(3):
            last = fleet.publish(CHANNEL, f"after the restart {n}", sender="alice").seq or 0
        _wait_last(page, last)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(15)
    assert _page_seqs(page) == [m.seq for m in fleet.history(CHANNEL)]
    assert page.get_attribute("#timeline", "data-duplicates") == "0"

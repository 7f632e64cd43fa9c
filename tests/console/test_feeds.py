"""The console's event stream (issue 19): ids are seqs, and a reconnect's ``Last-Event-ID``
wins over the page's ``?after=``, so the stream goes on exactly after what the browser saw."""

from __future__ import annotations

import json
import re

import pytest
from starlette.testclient import TestClient

from bus import Bus
from bus.console import create_app
from bus.console.feeds import resume_point
from bus.console.options import ConsoleOptions

pytestmark = pytest.mark.memory


def _events(client: TestClient, count: int, **headers: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    event_id = 0
    with client.stream("GET", "/c/_23engineering/events?after=1", headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                found.append((event_id, json.loads(line[6:])["content"]))
                if len(found) == count:
                    break
    return found


@pytest.mark.parametrize("transport", ["memory"], indirect=True)
def test_a_reconnect_resumes_after_its_last_event_id_each_event_id_its_seq(bus: Bus) -> None:
    for n in range(1, 6):
        bus.publish("#engineering", f"message {n}", sender="alice")
    client = TestClient(create_app(bus))
    assert _events(client, 4) == [(n, f"message {n}") for n in range(2, 6)]
    assert _events(client, 2, **{"Last-Event-ID": "3"}) == [(4, "message 4"), (5, "message 5")]


def test_the_resume_point_is_the_last_event_id_else_the_pages_newest_seq() -> None:
    assert resume_point("7", "3") == 7
    assert resume_point(None, "3") == 3
    assert resume_point("junk", None) == 0


@pytest.mark.parametrize("transport", ["memory"], indirect=True)
def test_a_long_channel_opens_on_its_newest_page_and_pages_back_to_the_oldest(bus: Bus) -> None:
    for n in range(1, 251):
        bus.publish("#engineering", f"message {n}", sender="alice")
    client = TestClient(create_app(bus, ConsoleOptions(page_size=100)))
    seen, path = [], "/c/_23engineering"
    while path:
        page = client.get(path).text
        seqs = [int(seq) for seq in re.findall(r'data-seq="(\d+)"', page)]
        seen.append((seqs[0], seqs[-1], len(seqs)))
        older = re.search(r'id="older" href="([^"]+)"', page)
        path = older[1] if older else ""
    assert seen == [(151, 250, 100), (51, 150, 100), (1, 50, 50)]

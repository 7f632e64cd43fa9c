"""The console's thread page (issue 18) on memory://: a reply handed straight to a requester
that was waiting for it is shown under its request, with its content and without a seq."""

from __future__ import annotations

import threading

import pytest
from starlette.testclient import TestClient

from bus import Bus
from bus.console import create_app
from tests.brokers import settings_for

pytestmark = pytest.mark.memory


def test_the_thread_of_a_request_shows_the_reply_its_requester_waited_for() -> None:
    with Bus(settings_for("memory")) as bus:
        oracle = bus.agent("oracle")

        def answer() -> None:
            question = oracle.receive(timeout=10)
            assert question is not None
            oracle.reply(question, "<i>42</i>")

        thread = threading.Thread(target=answer)
        thread.start()
        try:
            reply = bus.request("oracle", "the answer?", sender="ceo", timeout=20)
        finally:
            thread.join(10)
        page = TestClient(create_app(bus)).get(f"/trace/{reply.causation_id}")
    assert page.status_code == 200
    assert "DM to oracle</a> #1" in page.text  # the request, in oracle's inbox
    assert "DM to ceo</a> (reply to a waiting request)" in page.text
    assert "&lt;i&gt;42&lt;/i&gt;" in page.text  # its content, as text

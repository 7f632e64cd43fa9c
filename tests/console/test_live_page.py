"""The console in a real browser on memory:// (issue 19): the channels, a message published
while the page is open appearing with its ticks turning to handled, message content that looks
like HTML shown as text, and a thread's causation tree."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bus import Bus
from bus.console import create_app
from bus.console.options import ConsoleOptions
from bus.message import Message
from bus.names import encode_channel
from bus.settings import BusSettings
from bus.worker import Agent, Context, EmbeddedWorker, create_worker_app
from tests.brokers import settings_for
from tests.console.conftest import serving

pytestmark = pytest.mark.memory

#: Where screenshots of the console go when set (the README's are made so).
SHOTS = os.environ.get("BUS_CONSOLE_SCREENSHOTS")
DEADLINE_MS = 10_000

scribe = Agent("scribe", channels=["#engineering"], description="Hands reviews on.")
reviewer = Agent("reviewer", channels=["#code-review"], description="Reviews.")


@scribe.on()
def hand_on(message: Message, ctx: Context) -> None:
    if message.content.startswith("please review"):
        ctx.publish("#code-review", f"review wanted: {message.content[len('please review') :]}")


@reviewer.on()
def review(message: Message, ctx: Context) -> None:
    ctx.publish("#engineering", "reviewed: looks good, ship it")


@pytest.fixture(scope="module")
def hosted() -> Iterator[tuple[Bus, str]]:
    """A memory:// bus whose two agents an embedded worker hosts, and its console's URL."""
    settings: BusSettings = settings_for("memory")
    app = create_worker_app(settings, {"scribe": scribe, "reviewer": reviewer})
    with (
        Bus(settings, app=app) as bus,
        EmbeddedWorker(app, pool="threads", concurrency=2),
        serving(create_app(bus, ConsoleOptions(page_size=50))) as url,
    ):
        yield bus, url


def _seqs(page: Any) -> list[int]:
    return [
        int(seq) for seq in page.eval_on_selector_all("li.msg", "e => e.map(x => x.dataset.seq)")
    ]


def _live(page: Any) -> None:
    page.wait_for_selector("#timeline[data-state='live']", state="attached", timeout=DEADLINE_MS)


def test_the_page_lists_the_channels_and_says_auth_is_off(
    hosted: tuple[Bus, str], page: Any
) -> None:
    bus, url = hosted
    page.goto(url + "/")
    listed = page.eval_on_selector_all("tr.channel", "rows => rows.map(r => r.dataset.channel)")
    assert set(listed) == {info.name for info in bus.list_channels()}
    assert "#engineering" in listed
    assert page.is_visible("#no-auth")


def test_a_message_published_elsewhere_appears_and_its_ticks_turn_to_handled(
    hosted: tuple[Bus, str], page: Any
) -> None:
    bus, url = hosted
    bus.publish("#engineering", "before the page opened", sender="ceo")
    page.goto(f"{url}/c/{encode_channel('#engineering')}")
    _live(page)
    sent = bus.publish("#engineering", "published while the page is open", sender="ceo")
    item = f"li.msg[data-id='{sent.id}']"
    page.wait_for_selector(item, timeout=DEADLINE_MS)
    assert page.text_content(f"{item} .content") == "published while the page is open"
    page.wait_for_selector(
        f"{item} .tick[data-member='scribe'][data-state='handled']", timeout=DEADLINE_MS
    )
    assert _seqs(page) == [m.seq for m in bus.history("#engineering", limit=50)]


@pytest.mark.parametrize(
    "content",
    ["<img src=x onerror=alert(1)>", "<script>alert(2)</script><b id=injected>bold</b>"],
)
def test_html_in_a_message_is_shown_as_text_never_run(
    hosted: tuple[Bus, str], page: Any, content: str
) -> None:
    bus, url = hosted
    rendered = bus.publish("#engineering", content, sender="ceo")  # drawn by the server
    page.goto(f"{url}/c/{encode_channel('#engineering')}")
    _live(page)
    live = bus.publish("#engineering", content, sender="ceo")  # drawn by the script
    page.wait_for_selector(f"li.msg[data-id='{live.id}']", timeout=DEADLINE_MS)
    for message in (rendered, live):
        assert page.text_content(f"li.msg[data-id='{message.id}'] .content") == content
    timeline = "#timeline"
    assert page.eval_on_selector(timeline, "t => t.querySelectorAll('img, script, b').length") == 0
    assert page.query_selector("#injected") is None
    page.wait_for_timeout(200)  # an onerror handler would have run by now
    assert page.dialogs == []


def test_a_person_posts_as_a_human_and_the_thread_shows_who_answered_whom(
    hosted: tuple[Bus, str], page: Any
) -> None:
    bus, url = hosted
    page.goto(f"{url}/c/{encode_channel('#engineering')}")
    _live(page)
    page.fill("#compose input[name=as]", "dana")
    page.fill("#compose textarea", "please review the console")
    page.click("#compose button")
    page.wait_for_selector("li.msg .sender:text-is('human:dana')", timeout=DEADLINE_MS)
    posted = next(m for m in reversed(bus.history("#engineering")) if m.sender == "human:dana")
    deadline = time.monotonic() + DEADLINE_MS / 1000
    while (
        not bus.trace(posted.id).root.children or not bus.trace(posted.id).root.children[0].children
    ):
        assert time.monotonic() < deadline, "the agents did not answer"
        time.sleep(0.05)
    page.goto(f"{url}/trace/{posted.id}")
    senders = page.eval_on_selector_all("#tree .sender", "e => e.map(x => x.textContent)")
    assert senders == ["human:dana", "scribe", "reviewer"]
    contents = page.eval_on_selector_all("#tree .content", "e => e.map(x => x.textContent)")
    assert contents[0] == "please review the console"
    assert contents[2] == "reviewed: looks good, ship it"
    if SHOTS:
        page.set_viewport_size({"width": 1100, "height": 520})
        page.screenshot(path=str(Path(SHOTS) / "console-thread.png"))
        page.goto(f"{url}/c/{encode_channel('#engineering')}")
        _live(page)
        page.wait_for_selector(".tick.handled", timeout=DEADLINE_MS)
        page.keyboard.press("End")  # the newest: the person's post and what it caused
        page.screenshot(path=str(Path(SHOTS) / "console-channel.png"), full_page=False)

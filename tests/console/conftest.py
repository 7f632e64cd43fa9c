"""Fixtures of the console tests: one headless Debian chromium per module (driven by
Playwright, never a downloaded browser); consoles are served in a thread by
:func:`bus.testing.asgi_thread.served`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bus.testing.asgi_thread import served as serving
from tests.brokers import REQUIRE_BROKERS

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "free_port", "serving"]

#: Debian's chromium (`.ci/run` installs it): Playwright is pointed at it, never downloads one.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium for every test of a module."""
    if not CHROMIUM.exists():
        message = f"no {CHROMIUM}: apt-get install chromium"
        if REQUIRE_BROKERS:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (its own cookies); every dialog it opens is recorded in ``page.dialogs``."""
    context = browser.new_context()
    opened = context.new_page()
    opened.dialogs = []
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    try:
        yield opened
    finally:
        context.close()


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port

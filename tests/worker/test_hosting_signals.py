"""Celery's process signals are process-wide: a hosting closed earlier in the process (a
test's or the bench's previous worker) must not wake up when a later worker's child starts."""

from __future__ import annotations

import logging

import pytest
from celery import signals

from bus.broker.celery_app import create_app
from bus.testing import settings_for
from bus.worker import install


def test_a_closed_hosting_ignores_a_later_child_start(caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for("memory")
    hosting = install(create_app(settings), settings, {})
    hosting.close()
    with caplog.at_level(logging.ERROR):
        signals.worker_process_init.send(sender=None)
    assert "raised" not in caplog.text
    assert hosting.closed

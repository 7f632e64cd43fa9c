"""How the long-running commands (``bus run``, ``bus tail``) are stopped: Ctrl-C or SIGTERM
raises ``KeyboardInterrupt`` in the main thread, which they end on with exit 0."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT raise ``KeyboardInterrupt``; the handlers
    before are put back after it. SIGINT too, because a process started with it ignored (a
    background job of a non-interactive shell) gets no handler from Python: Ctrl-C would do
    nothing. ``celery worker`` installs its own handlers as well."""
    previous = {
        signum: signal.signal(signum, _interrupt) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

"""Small process and socket helpers shared by the private servers and the test hosts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it; a race is unlikely, not impossible).

    Args:
        host: the address the port must be free on.

    Returns:
        The port number.
    """
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def end_process_group(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """End a process started with ``start_new_session=True`` and all it started, by its PID.

    SIGTERM first, SIGKILL when it has not ended after ``grace`` seconds (0: SIGKILL at once).

    Args:
        process: the process, leader of its own process group.
        grace: seconds to wait after SIGTERM.
    """
    if process.returncode is not None:
        return  # reaped earlier: its PID may belong to someone else by now
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL if grace <= 0 else signal.SIGTERM)
    try:
        process.wait(max(grace, 0.1))
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    # Children that outlived the leader (same group, not yet reaped by anyone) go too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> float:
    """Poll ``predicate`` until it is true.

    Args:
        predicate: checked every ``interval`` seconds; an exception counts as false.
        timeout: seconds before giving up.
        what: what is awaited, for the error.
        interval: seconds between checks.

    Returns:
        The seconds it took.

    Raises:
        TimeoutError: ``predicate`` stayed false for ``timeout`` seconds.
    """
    start = time.monotonic()
    deadline = start + timeout
    while True:
        try:
            if predicate():
                return time.monotonic() - start
        except Exception:  # a server still starting refuses connections: keep polling
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)

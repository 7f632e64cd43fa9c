"""Running the real ``bus`` command (and other programs) in subprocesses: the CLI, Procfile
and compose tests share these."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bus.settings import BusSettings
from bus.testing import environment_for

ROOT = Path(__file__).resolve().parents[2]
_script = shutil.which("bus", path=str(Path(sys.executable).parent))
#: The installed console script, or ``python -m bus`` where it is not installed.
BUS: list[str] = [_script] if _script else [sys.executable, "-m", "bus"]


def cli_environment(settings: BusSettings, **extra: str) -> dict[str, str]:
    """The environment of a ``bus`` (or worker) subprocess on the bus of ``settings``."""
    return environment_for(settings, pythonpath=[ROOT], extra=extra)


def run_bus(
    env: dict[str, str], *args: str, timeout: float = 30.0, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``bus *args`` to completion."""
    return subprocess.run(
        [*BUS, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )


def assert_one_line_error(
    result: subprocess.CompletedProcess[str], code: int, *fragments: str
) -> str:
    """The command failed with ``code`` and one ``bus: error:`` line containing ``fragments``."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bus: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


class Lines:
    """A subprocess whose output lines can be awaited with a timeout."""

    def __init__(
        self, command: list[str], env: dict[str, str], *, cwd: Path = ROOT, **popen: object
    ) -> None:
        self.process = subprocess.Popen(  # type: ignore[call-overload]
            command,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            **popen,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def _drain(self, timeout: float) -> bool:
        """Move output into :attr:`lines`; False once the output has ended."""
        try:
            line = self._queue.get(timeout=max(timeout, 0))
        except queue.Empty:
            return True
        if line is None:
            self._queue.put(None)  # stays ended
            return False
        self.lines.append(line)
        return True

    def wait_for(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        """The first line (so far or to come) for which ``predicate`` holds."""
        deadline = time.monotonic() + timeout
        index, ended = 0, False
        while True:
            while index < len(self.lines):
                line = self.lines[index]
                index += 1
                if predicate(line):
                    return line
            if ended or time.monotonic() >= deadline:
                tail = "\n".join(self.lines[-40:])
                raise AssertionError(f"no line for {what} within {timeout} s:\n{tail}")
            ended = not self._drain(min(deadline - time.monotonic(), 0.2))

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM the process group, SIGKILL it if it does not end in time; the exit code."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._reader.join(5)
        while self._queue.qsize() and self._drain(0):
            pass
        return int(self.process.returncode)

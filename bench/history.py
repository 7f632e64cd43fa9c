"""The committed history of full runs, ``bench/history.jsonl``: one JSON line per run (date,
commit, versions, machine, command, figures), appended by ``python -m bench --record``, so a
change's effect shows against earlier runs. The README's table is made from the newest line
(:mod:`bench.readme`)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

HISTORY = Path(__file__).resolve().parent / "history.jsonl"
#: Keys of :func:`bench.report.environment` that describe the machine; the rest are versions.
MACHINE = ("nproc", "cpu", "memory", "loadavg_at_start", "platform", "seconds")


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HISTORY.parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=HISTORY.parent,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def entry(env: dict[str, Any], figures: list[dict[str, Any]], command: str) -> dict[str, Any]:
    """One history line for a run."""
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": _commit(),
        "command": command,
        "versions": {key: value for key, value in env.items() if key not in MACHINE},
        "machine": {key: env[key] for key in MACHINE if key in env},
        "figures": figures,
    }


def append(line: dict[str, Any], path: Path = HISTORY) -> None:
    """Append one run to the history."""
    with path.open("a") as out:
        out.write(json.dumps(line, sort_keys=True) + "\n")


def newest(path: Path = HISTORY) -> dict[str, Any] | None:
    """The newest run of the history, or ``None`` if it has none."""
    if not path.exists():
        return None
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None

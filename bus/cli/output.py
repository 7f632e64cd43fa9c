"""What the command line prints: aligned tables, message lines, JSON, masked URLs."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from pydantic import BaseModel

from bus.channels import ChannelInfo, Retention, Stream
from bus.deadletters.operations import DeadLetter
from bus.kinds import Priority
from bus.message import Message
from bus.settings.urls import mask as mask  # re-exported: the CLI masks with it
from bus.store import Fence, WorkerRecord


def emit_json(value: BaseModel | dict[str, Any], out: TextIO = sys.stdout) -> None:
    """One JSON object on one line, flushed (so ``tail --json`` can be piped)."""
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    print(json.dumps(data, ensure_ascii=False), file=out, flush=True)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], out: TextIO = sys.stdout
) -> None:
    """Aligned columns; numbers right-aligned; ``(none)`` when there are no rows."""
    cells = [[("-" if value is None else str(value)) for value in row] for row in rows]
    if not cells:
        print("(none)", file=out)
        return
    numeric = [all(row[i].isdigit() for row in cells) for i in range(len(headers))]
    widths = [max(len(headers[i]), *(len(row[i]) for row in cells)) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    print(line(headers), file=out)
    for row in cells:
        print(line(row), file=out)


def message_line(message: Message) -> str:
    """``12:00:01.234  #engineering  #3  alice [delegation]: text`` (local time)."""
    stamp = message.timestamp.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    where = message.channel if message.channel is not None else f"DM to {message.recipient}"
    kind = str(message.type)
    if message.priority is not Priority.NORMAL:
        kind += f", {message.priority}"
    content = message.content.replace("\n", "\n    ")
    return f"{stamp}  {where}  #{message.seq}  {message.sender} [{kind}]: {content}"


def show_messages(messages: Iterable[Message], as_json: bool, out: TextIO = sys.stdout) -> int:
    """Print messages one per line (JSON objects with ``as_json``); returns how many."""
    count = 0
    for message in messages:
        if as_json:
            emit_json(message, out)
        else:
            print(message_line(message), file=out, flush=True)
        count += 1
    return count


def retention_text(retention: Retention) -> str:
    """``1000 messages`` or ``1000 messages, 3600 s``."""
    text = f"{retention.max_messages} messages"
    if retention.max_age_seconds is not None:
        text += f", {retention.max_age_seconds:g} s"
    return text


def show_channels(channels: list[ChannelInfo], as_json: bool, out: TextIO = sys.stdout) -> None:
    """A table of channels, or one JSON object per channel."""
    if as_json:
        for info in channels:
            emit_json(
                {
                    "name": info.name,
                    "kind": str(info.spec.kind),
                    "members": sorted(info.members),
                    "last_seq": info.last_seq,
                    "retained": info.retained,
                    "retention": info.spec.retention.model_dump(mode="json"),
                },
                out,
            )
        return
    table(
        ("CHANNEL", "KIND", "MEMBERS", "LAST SEQ", "RETAINED", "RETENTION"),
        (
            (
                info.name,
                info.spec.kind,
                ",".join(sorted(info.members)) or None,
                info.last_seq,
                info.retained,
                retention_text(info.spec.retention),
            )
            for info in channels
        ),
        out,
    )


def show_agents(
    agents: dict[str, list[str]],
    as_json: bool,
    out: TextIO = sys.stdout,
    *,
    lags: dict[str, dict[str, int]] | None = None,
    hosts: dict[str, list[WorkerRecord]] | None = None,
    circuits: dict[str, list[str]] | None = None,
) -> None:
    """A table of agents, the channels each receives, the workers hosting it and when they were
    last seen (when any worker ever hosted one) and, when any is behind, its lag on each stream
    it is behind on (``DM``: its direct messages), and the circuits it has open (each target,
    ``open`` or ``half-open``); or one JSON object per agent (with ``workers``, ``last_seen``,
    ``lag`` and ``circuits`` when there is something to say)."""
    lags, hosts, circuits = lags or {}, hosts or {}, circuits or {}
    if as_json:
        for name, channels in agents.items():
            row: dict[str, Any] = {"name": name, "subscriptions": channels}
            if hosts.get(name):
                row["workers"] = [
                    {"worker": w.worker, "alive": w.alive, "last_seen": _seen(w).isoformat()}
                    for w in hosts[name]
                ]
                row["last_seen"] = max(_seen(w) for w in hosts[name]).isoformat()
            extras = {"lag": lags.get(name), "circuits": circuits.get(name)}
            emit_json({**row, **{key: value for key, value in extras.items() if value}}, out)
        return
    headers = ["AGENT", "SUBSCRIPTIONS"]
    rows: list[list[object]] = [
        [name, ", ".join(channels) or None] for name, channels in agents.items()
    ]
    if any(hosts.values()):
        headers += ["WORKER", "LAST SEEN"]
        for cells, name in zip(rows, agents, strict=True):
            cells += _hosting(hosts.get(name, []))
    if any(lags.values()):
        headers.append("LAG")
        for cells, name in zip(rows, agents, strict=True):
            lag = sorted(lags.get(name, {}).items())
            cells.append(", ".join(f"{where} {n}" for where, n in lag) or None)
    if any(circuits.values()):
        headers.append("CIRCUITS")
        for cells, name in zip(rows, agents, strict=True):
            cells.append(", ".join(circuits.get(name, [])) or None)
    table(headers, rows, out)


def _seen(record: WorkerRecord) -> datetime:
    return datetime.fromtimestamp(record.last_seen_ms / 1000, UTC)


def _hosting(records: list[WorkerRecord]) -> list[object]:
    """The WORKER and LAST SEEN cells: the live workers hosting the agent, else the last one
    seen (``(gone)``); when one of them was last seen (local time)."""
    if not records:
        return [None, None]
    alive = [w.worker for w in records if w.alive]
    last = max(records, key=lambda w: w.last_seen_ms)
    shown = ", ".join(alive) if alive else f"{last.worker} (gone)"
    return [shown, _seen(last).astimezone().strftime("%Y-%m-%d %H:%M:%S")]


def describe_fence(fence: Fence) -> str:
    """One line for a fence: which messages a store failover lost, when, who noticed."""
    stream = Stream.parse(fence.stream)
    where = stream.channel if stream.owner is None else f"DMs to {stream.owner}"
    seqs = f"#{fence.first}" if fence.first == fence.last else f"#{fence.first}-#{fence.last}"
    at = datetime.fromtimestamp(fence.at_ms / 1000, UTC).astimezone().isoformat(timespec="seconds")
    return (
        f"{where} {seqs}: acknowledged, then lost in a store failover (fenced {at} by "
        f"{fence.by}; these seqs are never reused)"
    )


def show_dead_letters(letters: list[DeadLetter], as_json: bool, out: TextIO = sys.stdout) -> None:
    """A table of dead letters, or one JSON object per dead letter."""
    if as_json:
        for letter in letters:
            emit_json(letter, out)
        return
    table(
        ("DEAD LETTER", "AGENT", "MESSAGE", "ATTEMPTS", "FAILED AT", "ERROR"),
        (
            (
                letter.dead_letter_seq,
                letter.agent,
                f"{letter.channel or 'DM'} #{letter.seq}",
                letter.attempts,
                letter.failed_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                letter.error.splitlines()[0][:80] if letter.error else None,
            )
            for letter in letters
        ),
        out,
    )

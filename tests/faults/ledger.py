"""Accounting for fault tests: what was sent, acknowledged and handled, per stream.

A publish is *acknowledged* when ``Bus.publish`` returned (the message's seq is then known); a
publish that raised is *refused* (a :class:`~bus.errors.BusError`) or a *raw error* (anything
else: a bug, every failure reaching a caller must be a ``BusError``). Handling is read from the
recorder agents' ``done`` records (tests/helpers/recorder_agents.py). Per stream (an agent on a
channel): *lost* is acknowledged and never handled, *duplicated* is handled more than once, an
*order violation* is a seq handled for the first time after a higher one.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis

from bus import Bus
from bus.errors import BusError
from bus.settings import BusSettings


def records(client: redis.Redis, namespace: str, start: int = 0) -> list[list[str]]:
    """The recorder's records from index ``start`` on, split into fields.

    Each is ``[phase, agent, channel|DM, seq, attempt, pid]``.
    """
    lines = client.lrange(f"{namespace}:test:runs", start, -1)
    return [line.decode().split() for line in lines]  # type: ignore[union-attr]


@dataclass(frozen=True)
class StreamFigures:
    """The figures of one stream (one agent on one channel)."""

    agent: str
    channel: str
    sent: int
    acknowledged: int
    handled: int
    duplicated: int
    lost: int
    order_violations: int
    #: Handled although its publish raised (stored, deliveries failed): not lost, not acked.
    handled_unacknowledged: int
    lost_seqs: tuple[int, ...] = ()
    #: The first few violations, as (highest seq handled so far, seq handled after it).
    violation_samples: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Report:
    """The ledger's figures: one row per stream, and the publish failures by error class."""

    title: str
    streams: tuple[StreamFigures, ...]
    refused: dict[str, int]
    raw_errors: dict[str, int]

    @property
    def lost(self) -> int:
        """Acknowledged messages never handled, over every stream."""
        return sum(row.lost for row in self.streams)

    @property
    def duplicated(self) -> int:
        """Extra handlings, over every stream."""
        return sum(row.duplicated for row in self.streams)

    @property
    def order_violations(self) -> int:
        """Order violations, over every stream."""
        return sum(row.order_violations for row in self.streams)

    def __str__(self) -> str:
        head = (
            f"{'stream':<24} {'sent':>6} {'acked':>6} {'handled':>7} {'dup':>5} {'lost':>5} "
            f"{'order':>5} {'h-unack':>7}"
        )
        lines = [f"ledger: {self.title}", head]
        for row in self.streams:
            lines.append(
                f"{row.agent + ' ' + row.channel:<24} {row.sent:>6} {row.acknowledged:>6} "
                f"{row.handled:>7} {row.duplicated:>5} {row.lost:>5} {row.order_violations:>5} "
                f"{row.handled_unacknowledged:>7}"
            )
            if row.lost_seqs:
                lines.append(f"  lost seqs: {list(row.lost_seqs)[:20]}")
            if row.violation_samples:
                lines.append(f"  order violations (after, seq): {list(row.violation_samples)}")
        lines.append(f"refused publishes: {dict(self.refused) or 0}")
        lines.append(f"raw errors: {dict(self.raw_errors) or 0}")
        return "\n".join(lines)


@dataclass
class Ledger:
    """What one test sent, had acknowledged and saw handled; thread-safe for publishers."""

    sent: Counter[str] = field(default_factory=Counter)
    acknowledged: dict[str, list[int]] = field(default_factory=dict)
    refused: Counter[str] = field(default_factory=Counter)
    raw_errors: Counter[str] = field(default_factory=Counter)
    #: ``(agent, channel) -> seqs`` in the order their handlers finished.
    handled: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, bus: Bus, channel: str, content: str, *, sender: str) -> int | None:
        """Publish through ``bus`` and book it.

        Returns:
            The message's seq when acknowledged, ``None`` when the publish raised.
        """
        with self._lock:
            self.sent[channel] += 1
        try:
            message = bus.publish(channel, content, sender=sender)
        except BusError as exc:
            with self._lock:
                self.refused[type(exc).__name__] += 1
            return None
        except Exception as exc:
            with self._lock:
                self.raw_errors[f"{type(exc).__module__}.{type(exc).__name__}"] += 1
            return None
        assert message.seq is not None
        with self._lock:
            self.acknowledged.setdefault(channel, []).append(message.seq)
        return message.seq

    def handle(self, agent: str, channel: str, seq: int) -> None:
        """Book one handling (a pull reader's ``receive`` returning the message)."""
        with self._lock:
            self.handled.setdefault((agent, channel), []).append(seq)

    def read_handled(self, rows: Iterable[list[str]]) -> None:
        """Replace what was handled with the ``done`` records among ``rows`` (:func:`records`)."""
        handled: dict[tuple[str, str], list[int]] = {}
        for row in rows:
            if row[0] == "done":
                handled.setdefault((row[1], row[2]), []).append(int(row[3]))
        self.handled = handled

    def all_handled(self, agents: Iterable[str], channel: str) -> bool:
        """Whether every acknowledged seq of ``channel`` was handled by each of ``agents``."""
        wanted = set(self.acknowledged.get(channel, ()))
        return all(wanted <= set(self.handled.get((a, channel), ())) for a in agents)

    def report(self, title: str, agents: Iterable[str], channel: str) -> Report:
        """The figures of each agent's stream on ``channel``."""
        acknowledged = set(self.acknowledged.get(channel, ()))
        rows = []
        for agent in agents:
            seqs = self.handled.get((agent, channel), [])
            seen: set[int] = set()
            highest = 0
            violations = 0
            samples: list[tuple[int, int]] = []
            for seq in seqs:
                if seq not in seen and seq < highest:
                    violations += 1
                    if len(samples) < 5:
                        samples.append((highest, seq))
                seen.add(seq)
                highest = max(highest, seq)
            lost = sorted(acknowledged - seen)
            rows.append(
                StreamFigures(
                    agent=agent,
                    channel=channel,
                    sent=self.sent[channel],
                    acknowledged=len(acknowledged),
                    handled=len(seen),
                    duplicated=len(seqs) - len(seen),
                    lost=len(lost),
                    order_violations=violations,
                    handled_unacknowledged=len(seen - acknowledged),
                    lost_seqs=tuple(lost),
                    violation_samples=tuple(samples),
                )
            )
        return Report(title, tuple(rows), dict(self.refused), dict(self.raw_errors))


class Publisher(threading.Thread):
    """Publishes ``count`` messages on ``channel`` from a thread, booking each in ``ledger``.

    Bounded: stops at ``count`` or after ``timeout`` seconds, whichever comes first.
    """

    def __init__(
        self,
        settings: BusSettings,
        ledger: Ledger,
        channel: str,
        count: int,
        *,
        content: str = "m",
        interval: float = 0.01,
        timeout: float = 120.0,
    ) -> None:
        super().__init__(name="fault-publisher", daemon=True)
        self.settings = settings
        self.ledger = ledger
        self.channel = channel
        self.count = count
        self.content = content
        self.interval = interval
        self.timeout = timeout
        self.published = 0
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        try:
            with Bus(self.settings) as bus:
                for _ in range(self.count):
                    if self.stop_event.is_set() or time.monotonic() > deadline:
                        break
                    self.ledger.publish(bus, self.channel, self.content, sender="tester")
                    self.published += 1
                    time.sleep(self.interval)
        except BaseException as exc:  # reported by the test through finish()
            self.error = exc

    def finish(self, timeout: float = 60.0) -> None:
        """Wait for the thread; re-raise what ended it early, if anything did."""
        self.join(timeout)
        if self.is_alive():
            self.stop_event.set()
            self.join(10)
            raise AssertionError(f"publisher still running after {timeout} s")
        if self.error is not None:
            raise self.error

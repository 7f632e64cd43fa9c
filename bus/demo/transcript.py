"""``bus demo``: the agent company of ``workers/company.py`` (and the researcher of
``workers/researcher.py``, which asks an LLM) at work, as a transcript.

On ``memory://`` everything runs in this process: an embedded worker hosts the agents, and the
researcher asks a local fake LLM (:mod:`bus.demo.fake_llm`) unless ``LLM_BASE_URL`` names an
endpoint. On Redis or RabbitMQ the agents run in ``celery -A bus worker`` processes (whose
``LLM_BASE_URL`` must reach an LLM endpoint, e.g. ``python -m bus.demo.fake_llm --port 8089``)
and this is the producer side: it registers the cast, posts the CEO's kickoff and follows what
happens.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TextIO

from celery import Celery

from bus.core import Bus
from bus.demo.fake_llm import FakeLLM
from bus.errors import BusError
from bus.message import Message
from bus.settings import BusSettings
from bus.settings.transports import transport_of
from bus.testing import join
from bus.worker import EmbeddedWorker, create_worker_app, load_agents

#: Modules that define the cast.
CAST = ("workers.company", "workers.researcher")
#: Seconds the fake LLM of a ``memory://`` demo takes to answer.
LLM_LATENCY = 0.3


def transcript_line(message: Message) -> str:
    """``12:00:01.234  #engineering   #3     alice [delegation]: text``: one line of a
    transcript (the demo's, ``bus run``'s)."""
    where = message.channel if message.channel else f"DM to {message.recipient}"
    stamp = message.timestamp.astimezone().strftime("%H:%M:%S.%f")[:-3]
    head = f"{stamp}  {where:<14} #{message.seq:<3} {message.sender:>6}"
    return f"{head} [{message.type}]: {message.content}"


def _finished(bus: Bus, since: datetime) -> bool:
    approved = any(m.type == "approval" for m in bus.history("#code-review", since=since))
    engineering = bus.history("#engineering", since=since)
    eta = any(m.type == "status_report" and m.sender == "bob" for m in engineering)
    researched = any(m.sender == "researcher" for m in engineering)
    return approved and eta and researched


def run_demo(settings: BusSettings, out: TextIO = sys.stdout, timeout: float = 60.0) -> int:
    """Run the demo company; print the transcript and a history summary.

    Returns:
        0 when the whole story played out, 1 if it did not within ``timeout`` seconds,
        2 if no worker hosts the agents (Redis or RabbitMQ).
    """
    settings = settings.model_copy(update={"agent_modules": CAST, "agents": ()})
    cast = load_agents(CAST)
    app = create_worker_app(settings)
    with Bus(settings, app=app) as bus, _workers(app, settings, out) as hosted:
        if not hosted:
            print(
                "no worker answers: start one with `celery -A bus worker` "
                f"(BUS_BROKER_URL={settings.broker_url})",
                file=out,
            )
            return 2
        for agent in cast.values():
            bus.register_agent(agent.name, channels=agent.channels)
        since = datetime.now(UTC)
        print(f"bus demo on {settings.broker_url} (namespace {settings.namespace!r})\n", file=out)
        bus.publish("#all-hands", "Q3 kickoff: ship the agent bus.", sender="ceo")
        conversation = Conversation(bus, cast, out, since)
        deadline = time.monotonic() + timeout
        done = False
        while not done and time.monotonic() < deadline:
            done = _finished(bus, since)
            conversation.print_new()
            if not done:
                time.sleep(0.05)
        _settle(bus, cast)
        _summary(bus, out)
        if not done:
            print(f"\nthe story did not finish within {timeout:.0f} s", file=out)
            return 1
        return 0


class Conversation:
    """A bus's messages as they are stored, printed as transcript lines: every channel's, and
    the direct messages of ``agents``, from ``since`` on, each once, in time order.

    Args:
        bus: A started bus.
        agents: Whose direct messages to show.
        out: Where the lines go.
        since: From when (now, if ``None``).
    """

    def __init__(
        self, bus: Bus, agents: Iterable[str], out: TextIO, since: datetime | None = None
    ) -> None:
        self.bus, self.agents, self.out = bus, list(agents), out
        self.since = since or datetime.now(UTC)
        self._seen: set[str] = set()

    def print_new(self) -> int:
        """Print what was stored since the last call; returns how many lines."""
        bus, since = self.bus, self.since
        channels = [spec.name for spec in bus.store.registry.list_channels()]
        messages = [m for name in channels for m in bus.history(name, since=since)]
        messages += [m for agent in self.agents for m in bus.direct_history(agent, since=since)]
        fresh = sorted(
            (m for m in messages if str(m.id) not in self._seen), key=lambda m: m.timestamp
        )
        self._seen.update(str(m.id) for m in fresh)
        for message in fresh:
            self.out.write(transcript_line(message) + "\n")  # one write per line: threads print
        self.out.flush()
        return len(fresh)


def _settle(bus: Bus, cast: Iterable[str]) -> None:
    """Let the agents finish what the story set off, so the worker stops quiet."""
    for agent in cast:
        with contextlib.suppress(BusError):
            join(bus, agent, timeout=5)


def _summary(bus: Bus, out: TextIO) -> None:
    print("\nhistory per channel:", file=out)
    for info in bus.list_channels():
        if info.last_seq:
            print(
                f"  {info.name:<14} {info.retained:>4} kept, last #{info.last_seq}, "
                f"{len(info.members)} members",
                file=out,
            )


class WorkerLines(logging.Handler):
    """Shows the embedded worker's retries and dead letters in the transcript."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(logging.WARNING)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        # One write per line: the worker's threads and the transcript print at once.
        self.out.write(f"{stamp}  {'(worker)':<14}      {record.getMessage()}\n")
        self.out.flush()


@contextlib.contextmanager
def _workers(app: Celery, settings: BusSettings, out: TextIO) -> Iterator[bool]:
    """An embedded worker on memory://; elsewhere, whether some worker answers a ping."""
    if transport_of(settings.broker_url).in_process:
        with _llm(), worker_lines(out), EmbeddedWorker(app):
            yield True
        return
    replies = app.control.ping(timeout=2.0)
    yield bool(replies)


@contextlib.contextmanager
def worker_lines(out: TextIO) -> Iterator[None]:
    """Show an in-process worker's retries and dead letters (its ``bus.delivery`` warnings)
    as transcript lines on ``out``, not as log lines."""
    delivery_log = logging.getLogger("bus.delivery")
    handler = WorkerLines(out)
    delivery_log.addHandler(handler)
    delivery_log.propagate = False
    try:
        yield
    finally:
        delivery_log.removeHandler(handler)
        delivery_log.propagate = True


@contextlib.contextmanager
def _llm() -> Iterator[None]:
    """A fake LLM for the researcher, unless ``LLM_BASE_URL`` names one already."""
    if os.environ.get("LLM_BASE_URL"):
        yield
        return
    with FakeLLM(latency=LLM_LATENCY) as llm:
        os.environ["LLM_BASE_URL"] = llm.url  # read by the researcher's startup hook
        try:
            yield
        finally:
            del os.environ["LLM_BASE_URL"]

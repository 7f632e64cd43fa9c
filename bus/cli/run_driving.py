"""What ``bus run`` does once its agents run: drive them and print their conversation.

A :class:`Session` posts what ``--publish``/``--send`` say, runs the ``--script`` hook, then reads
``#channel text`` / ``@agent text`` lines from standard input, while a thread prints every new
message of the bus (the demo's :class:`~bus.demo.transcript.Conversation`). At the end it waits
until the hosted agents have handled everything, prints the rest and unregisters the sender if
it registered it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO

from bus.aio import AsyncBus
from bus.cli.suggestions import with_suggestion
from bus.core import Bus
from bus.demo.transcript import Conversation
from bus.errors import BusError, BusTimeout, ConfigurationError, UnknownAgent, UnknownChannel
from bus.settings.urls import mask
from bus.testing import join
from bus.worker import AgentRegistry

#: Seconds between two looks for new messages.
PRINT_INTERVAL = 0.1
#: What a line of standard input may be.
LINE_HELP = "a line is '#channel text' (publish) or '@agent text' (send)"


def drive_pair(verb: str) -> Callable[[str], tuple[str, str, str]]:
    """The argument type of ``--publish CHANNEL=TEXT`` / ``--send AGENT=TEXT``."""

    def parse(text: str) -> tuple[str, str, str]:
        target, equals, content = text.partition("=")
        if not equals or not target:
            what = "CHANNEL=TEXT" if verb == "publish" else "AGENT=TEXT"
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}")
        return verb, target, content

    return parse


class Session:
    """One ``bus run``: its bus, the agents hosted, its arguments and where it prints."""

    def __init__(
        self, bus: Bus, agents: AgentRegistry, args: argparse.Namespace, out: TextIO
    ) -> None:
        self.bus, self.agents, self.args, self.out = bus, agents, args, out
        self.sender: str = args.sender or bus.guard.identity or "cli"
        self._stop = threading.Event()
        self._registered_sender = False

    def run(self) -> int:
        """Drive, print, settle; the exit code."""
        bus = self.bus
        bus.register_agents({agent.name: agent.channels for agent in self.agents.values()})
        if not bus.store.registry.is_agent(self.sender):  # so that replies reach it
            bus.register_agent(self.sender)
            self._registered_sender = True
        conversation = Conversation(bus, [*self.agents, self.sender], self.out)
        printer = threading.Thread(target=self._print, args=(conversation,), daemon=True)
        print(
            f"bus run: {', '.join(self.agents)} on {mask(bus.settings.broker_url)} "
            f"(namespace {bus.settings.namespace!r}), as {self.sender}",
            file=self.out,
            flush=True,
        )
        printer.start()
        try:
            for verb, target, content in self.args.drive:
                self._post(verb, target, content, fail=True)
            if self.args.script:
                self._script(self.args.script)
            if not self.args.no_input:
                self._read_lines()
            self._settle()
        finally:
            self._stop.set()
            printer.join()
            conversation.print_new()
            if self._registered_sender:
                bus.unregister_agent(self.sender)
        return 0

    def _print(self, conversation: Conversation) -> None:
        while not self._stop.wait(PRINT_INTERVAL):
            try:
                conversation.print_new()
            except BusError as exc:
                print(f"bus: error: {mask(exc.message)}", file=sys.stderr, flush=True)

    def _post(self, verb: str, target: str, content: str, *, fail: bool) -> None:
        try:
            if verb == "publish":
                self.bus.publish(target, content, sender=self.sender)
            else:
                self.bus.send(target, content, sender=self.sender)
        except (UnknownChannel, UnknownAgent) as exc:
            error = with_suggestion(exc, self.bus)
            if fail:
                raise error from None
            print(f"bus: error: {error.message}", file=sys.stderr, flush=True)
        except BusError as exc:
            if fail:
                raise
            print(f"bus: error: {mask(exc.message)}", file=sys.stderr, flush=True)

    def _read_lines(self) -> None:
        if sys.stdin.isatty():
            print(f"({LINE_HELP}; Ctrl-D or Ctrl-C stops)", file=self.out, flush=True)
        for raw in sys.stdin:
            line = raw.strip()
            if not line:
                continue
            target, _, content = line.partition(" ")
            if target.startswith("#") and len(target) > 1:
                self._post("publish", target, content.strip(), fail=False)
            elif target.startswith("@") and len(target) > 1:
                self._post("send", target[1:], content.strip(), fail=False)
            else:
                print(f"bus: error: {line!r}: {LINE_HELP}", file=sys.stderr, flush=True)

    def _script(self, path: str) -> None:
        """Run ``main(bus)`` of the file at ``path``: a ``Bus``, or for ``async def main`` an
        ``AsyncBus``. What it raises, other than a bus error, is reported in one line."""
        spec = importlib.util.spec_from_file_location("bus_run_script", path)
        if spec is None or spec.loader is None:
            raise ConfigurationError(f"cannot load script {path!r} (--script)", path=path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except FileNotFoundError:
            raise ConfigurationError(f"no script {path!r} (--script)", path=path) from None
        main: Any = getattr(module, "main", None)
        if not callable(main):
            raise ConfigurationError(f"script {path!r} defines no main(bus)", path=path)
        try:
            if inspect.iscoroutinefunction(main):
                with ThreadPoolExecutor(8, thread_name_prefix="bus-run") as pool:
                    asyncio.run(main(AsyncBus(self.bus, executor=pool)))
            else:
                main(self.bus)
        except BusError:
            raise
        except Exception as exc:
            raise BusError(f"script {path!r} failed: {type(exc).__name__}: {exc}") from exc

    def _settle(self) -> None:
        """Wait until every hosted agent has handled everything (also what its peers post
        meanwhile) within ``--wait`` seconds.

        Raises:
            BusTimeout: an agent is still behind then.
        """
        deadline = time.monotonic() + self.args.wait
        while True:
            for name in self.agents:
                join(self.bus, name, timeout=max(deadline - time.monotonic(), 0.1))
            if not any(self.bus.store.leases.backlog(name) for name in self.agents):
                return
            if time.monotonic() > deadline:
                raise BusTimeout(f"the agents were still busy after {self.args.wait:g} s")

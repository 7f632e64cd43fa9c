"""``bus run MODULE...``: host the agents of your own modules and talk to them.

On ``memory://`` the agents run in this process, in an embedded worker; on Redis or RabbitMQ
in a ``celery -A bus worker`` subprocess started with ``BUS_AGENT_MODULES`` set to the modules
(and their directories on ``PYTHONPATH``), exactly as a deployed worker hosts them. Either way
this process drives them (``--publish``, ``--send``, ``--script``, then ``#channel text`` /
``@agent text`` lines from standard input) and prints the conversation as it is stored, until
end of input or Ctrl-C; then it lets the agents finish what they were given and stops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from celery import Celery

from bus.cli.arguments import Parser, seconds
from bus.cli.commands import connected
from bus.cli.run_driving import Session, drive_pair
from bus.cli.stopping import stopped_by_signals
from bus.core import Bus
from bus.demo.transcript import worker_lines
from bus.errors import BusError, ConfigurationError
from bus.settings import BusSettings
from bus.settings.transports import transport_of
from bus.worker import AgentRegistry, EmbeddedWorker, create_worker_app

#: Seconds a worker subprocess may take to answer its first ping.
WORKER_START = 60.0

EXAMPLES = """\
  bus run ./my_agents.py --publish '#engineering=Who can review PR 7?'
  bus run my_package.agents --send reviewer='Please look at PR 7' --no-input
  bus run ./my_agents.py --script ./scenario.py      (main(bus), def or async def)
  bus run ./my_agents.py                             (then type: #engineering hello, @bob hi)
  BUS_BROKER_URL=redis://127.0.0.1:6379/0 bus run ./my_agents.py   (a real worker)"""


def add_parser(sub: argparse._SubParsersAction[Parser], json_flag: argparse.ArgumentParser) -> None:
    """Add ``run`` to the ``bus`` parser."""
    p = sub.add_parser(
        "run",
        help="host the agents of your own modules and talk to them",
        description="Host the agents of your modules (files or module names) and print their "
        "conversation: in this process on memory://, in a 'celery -A bus worker' subprocess on "
        "Redis or RabbitMQ. Drive them with --publish/--send/--script, then with lines on "
        "standard input: '#channel text' publishes, '@agent text' sends. End of input (Ctrl-D) "
        "or Ctrl-C stops, once the agents have handled what they were given.",
        epilog="examples:\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[json_flag],  # type: ignore[list-item]  # any parser can be a parent
    )
    p.add_argument(
        "modules", metavar="MODULE", nargs="+", help="a file (./agents.py) or a module name"
    )
    p.add_argument(
        "--publish",
        dest="drive",
        action="append",
        default=[],
        type=drive_pair("publish"),
        metavar="CHANNEL=TEXT",
        help="publish TEXT to CHANNEL once the agents run (repeatable, in order with --send)",
    )
    p.add_argument(
        "--send",
        dest="drive",
        action="append",
        type=drive_pair("send"),
        metavar="AGENT=TEXT",
        help="send TEXT to AGENT as a direct message (repeatable)",
    )
    p.add_argument(
        "--script", metavar="PATH", help="a Python file whose main(bus) (or async) drives them"
    )
    p.add_argument(
        "--sender", metavar="AGENT", help="who posts and sends (default: BUS_CREDENTIALS, or cli)"
    )
    p.add_argument(
        "--no-input", action="store_true", help="do not read standard input: stop once idle"
    )
    p.add_argument(
        "--wait",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long the agents may take to finish at the end (default: 30; exit 3 after)",
    )
    p.set_defaults(run=run)


def module_names(specs: list[str]) -> tuple[list[str], list[str]]:
    """The module names of ``specs`` (files or module names) and the directories they are
    imported from, which are put on ``sys.path`` of this process.

    Raises:
        ConfigurationError: a file that does not exist, or a name that is not a module name.
    """
    names, directories = [], []
    for spec in specs:
        if spec.endswith(".py") or os.sep in spec:
            path = Path(spec).expanduser().resolve()
            if not path.is_file() or path.suffix != ".py":
                raise ConfigurationError(f"no Python file {spec!r} (bus run MODULE)", module=spec)
            name, directory = path.stem, str(path.parent)
        else:
            name, directory = spec, os.getcwd()
        if not all(part.isidentifier() for part in name.split(".")):
            raise ConfigurationError(f"{spec!r} is not a module name (bus run MODULE)", module=spec)
        names.append(name)
        if directory not in directories:
            directories.append(directory)
    for directory in reversed(directories):
        if directory not in sys.path:
            sys.path.insert(0, directory)
    return names, directories


def run(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus run MODULE...``: exit 0 when stopped (end of input, Ctrl-C, SIGTERM)."""
    names, directories = module_names(args.modules)
    agents = AgentRegistry()
    for name in names:
        agents.load(name, origin="bus run")
    settings = settings.model_copy(update={"agent_modules": tuple(names), "agents": ()})
    try:
        with stopped_by_signals(), _hosting(settings, agents, directories) as bus:
            return Session(bus, agents, args, sys.stdout).run()
    except KeyboardInterrupt:
        return 0


@contextlib.contextmanager
def _hosting(settings: BusSettings, agents: AgentRegistry, directories: list[str]) -> Iterator[Bus]:
    """A started bus whose agents a worker hosts: embedded on memory://, else a subprocess."""
    if transport_of(settings.broker_url).in_process:
        app = create_worker_app(settings, agents)
        with (
            Bus(settings, app=app) as bus,
            worker_lines(sys.stdout),
            EmbeddedWorker(app, concurrency=settings.worker_concurrency),
        ):
            yield bus
        return
    with connected(settings) as bus, _worker_process(settings, directories, bus.app):
        yield bus


@contextlib.contextmanager
def _worker_process(settings: BusSettings, directories: list[str], app: Celery) -> Iterator[None]:
    """``celery -A bus worker`` hosting ``settings.agent_modules``, until the block ends."""
    hostname = f"bus-run-{os.getpid()}@{os.uname().nodename}"
    env = dict(os.environ, BUS_AGENT_MODULES=",".join(settings.agent_modules))
    env.pop("BUS_AGENTS", None)
    env["PYTHONPATH"] = os.pathsep.join([*directories, env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    command = [sys.executable, "-m", "celery", "-A", "bus", "worker", "--loglevel=WARNING"]
    command += [f"--hostname={hostname}", "--without-mingle", "--without-gossip"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + WORKER_START
        while not app.control.ping(destination=[hostname], timeout=0.5):
            if process.poll() is not None:
                raise BusError(
                    f"the worker (celery -A bus worker) exited with {process.returncode}"
                )
            if time.monotonic() > deadline:
                raise BusError(f"the worker did not answer within {WORKER_START:.0f} s")
        yield
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(settings.shutdown_grace + 15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

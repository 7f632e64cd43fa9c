"""A RabbitMQ node of the test's own (name, ports, data), never the shared ``rabbit@`` node."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.support.process import end_process_group, free_port

#: Where Debian's package keeps the real scripts; ``/usr/sbin``'s wrappers ``su`` to the
#: ``rabbitmq`` user, which could not write the test's temporary directories.
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


def _script(name: str) -> str:
    candidate = RABBIT_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed")
    return found


class RabbitNode:
    """A second RabbitMQ node: ``bus-test-<id>@localhost`` with free AMQP and distribution ports.

    Its own mnesia, log and config files, no plugins (so no management port clash), and its
    own ``HOME`` (hence its own Erlang cookie), so the CLI commands this class runs reach it
    and nothing else. It listens on 127.0.0.1 and on any further ``listen`` address; ``guest``
    may log in from those addresses too (``loopback_users = none``), for test hosts.
    Starting one took about 6 s on the 2-core CI machine: share one per test session.
    """

    def __init__(self, directory: Path | None = None, *, listen: tuple[str, ...] = ()) -> None:
        """Prepare (not start) the node.

        Args:
            directory: its files (a new temporary directory when ``None``).
            listen: addresses to accept AMQP connections on besides 127.0.0.1.
        """
        self._owns_directory = directory is None
        self.directory = (
            Path(tempfile.mkdtemp(prefix="bus-rabbit-")) if directory is None else directory
        )
        self.name = f"bus-test-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.addresses = ("127.0.0.1", *listen)
        self.log = self.directory / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        for sub in ("mnesia", "log", "home"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        (self.directory / "enabled_plugins").write_text("[].\n")
        (self.directory / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's NODENAME
        listeners = "".join(
            f"listeners.tcp.{index} = {address}:{self.port}\n"
            for index, address in enumerate(self.addresses, 1)
        )
        (self.directory / "rabbitmq.conf").write_text(f"{listeners}loopback_users = none\n")

    def url_for(self, address: str = "127.0.0.1") -> str:
        """The AMQP URL of the node at ``address`` (one of :attr:`addresses`)."""
        return f"amqp://guest:guest@{address}:{self.port}//"

    @property
    def url(self) -> str:
        """The loopback AMQP URL of the node."""
        return self.url_for()

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            HOME=str(self.directory / "home"),
            RABBITMQ_CONF_ENV_FILE=str(self.directory / "rabbitmq-env.conf"),
            RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.directory / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.directory / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.directory / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(self.directory / "rabbitmq.conf"),
            # Erlang distribution on loopback only, like the machine's own node.
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )
        return env

    def ctl(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``rabbitmqctl -n <this node> ARGS``.

        Raises:
            subprocess.CalledProcessError: the command failed (its output is attached).
        """
        return subprocess.run(
            [_script("rabbitmqctl"), "-q", "-n", self.name, *args],
            env=self._environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    @property
    def running(self) -> bool:
        """Whether the node's process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 90.0) -> RabbitNode:
        """Start the node and wait until it has fully booted (``await_startup``).

        Returns:
            The node itself.

        Raises:
            RuntimeError: the node exited or did not boot within ``timeout`` (log quoted).
        """
        if self.running:
            return self
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [_script("rabbitmq-server")],
            cwd=self.directory,
            env=self._environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running:
            # await_startup fails at once while the node is not yet registered with epmd.
            try:
                self.ctl("await_startup", "--timeout", "10", timeout=20)
                return self
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                time.sleep(0.5)
        tail = self.log.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"RabbitMQ node {self.name} did not start:\n{tail}")

    def stop_app(self) -> None:
        """Stop the RabbitMQ application (the broker goes away; the Erlang node stays)."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        """Start the RabbitMQ application again and wait until it accepts connections."""
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "60", timeout=70)

    def stop(self) -> None:
        """Stop the node (``rabbitmqctl stop``), by its PID if it does not end in time."""
        if self.process is None:
            return
        if self.running:
            try:
                self.ctl("stop", timeout=30)
                self.process.wait(30)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                pass
        end_process_group(self.process, grace=5)

    def close(self) -> None:
        """Stop the node and remove its directory (if it made it): the fixture's teardown."""
        self.stop()
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

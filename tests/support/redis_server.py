"""A private ``redis-server`` a test may stop, kill or restart empty, never the shared one."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import redis

from tests.support.process import end_process_group, free_port, wait_until
from tests.support.tls import TLSFiles, make_server_certificate


class RedisServer:
    """A ``redis-server`` of the test's own, on a free port, in a directory of its own.

    It listens on 127.0.0.1 and on any further ``bind`` address (an address of a test-host
    bridge, so workers in network namespaces reach it). No persistence: a :meth:`restart` with
    ``empty=True`` comes back without data, as a Redis without persistence or a failover to an
    empty replica does; ``empty=False`` saves first and comes back with everything.

    With ``tls=True`` it listens for TLS only (``--port 0 --tls-port P``) with a certificate of a
    throw-away CA, and :attr:`url` is a ``rediss://`` URL that names the CA for clients.
    """

    def __init__(
        self,
        directory: Path | None = None,
        *,
        tls: bool = False,
        bind: tuple[str, ...] = (),
        executable: str = "redis-server",
        options: tuple[str, ...] = (),
    ) -> None:
        """Prepare (not start) the server.

        Args:
            directory: its working directory (a new temporary one when ``None``).
            tls: listen for TLS only, see the class doc.
            bind: addresses to listen on besides 127.0.0.1.
            executable: the ``redis-server`` to run.
            options: more command-line options (``("--replicaof", "127.0.0.1", "6380")``).

        Raises:
            FileNotFoundError: no ``redis-server`` on the PATH.
        """
        found = shutil.which(executable)
        if found is None:
            raise FileNotFoundError(f"{executable} is not on the PATH")
        self._executable = found
        self._owns_directory = directory is None
        self.directory = (
            Path(tempfile.mkdtemp(prefix="bus-redis-")) if directory is None else directory
        )
        self.addresses = ("127.0.0.1", *bind)
        self.port = free_port()
        self.tls: TLSFiles | None = (
            make_server_certificate(self.directory, self.addresses) if tls else None
        )
        self.log = self.directory / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.options = options

    def url_for(self, address: str = "127.0.0.1", db: int = 0) -> str:
        """The URL clients use to reach the server at ``address`` (one of :attr:`addresses`)."""
        if self.tls is None:
            return f"redis://{address}:{self.port}/{db}"
        ca = quote(str(self.tls.ca_cert), safe="")
        return f"rediss://{address}:{self.port}/{db}?ssl_cert_reqs=required&ssl_ca_certs={ca}"

    @property
    def url(self) -> str:
        """The loopback URL of the server."""
        return self.url_for()

    def client(self) -> redis.Redis:
        """A new client of the server (short timeouts: a test must not hang on a dead server)."""
        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def _command(self) -> list[str]:
        command = [
            self._executable,
            "--bind",
            *self.addresses,
            "--dir",
            str(self.directory),
            "--logfile",
            str(self.log),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
            "--daemonize",
            "no",
        ]
        command += self.options
        if self.tls is None:
            return [*command, "--port", str(self.port)]
        return [
            *command,
            "--port",
            "0",
            "--tls-port",
            str(self.port),
            "--tls-cert-file",
            str(self.tls.cert),
            "--tls-key-file",
            str(self.tls.key),
            "--tls-ca-cert-file",
            str(self.tls.ca_cert),
            "--tls-auth-clients",
            "no",
        ]

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 15.0) -> RedisServer:
        """Start the server and wait until it answers PING.

        Returns:
            The server itself.

        Raises:
            RuntimeError: it exited or did not answer within ``timeout`` (its log is quoted).
        """
        if self.running:
            return self
        self.process = subprocess.Popen(
            self._command(),
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        client = self.client()
        try:
            wait_until(lambda: self.running and bool(client.ping()), timeout, "redis-server")
        except TimeoutError:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            self.kill()
            raise RuntimeError(f"redis-server on port {self.port} did not start:\n{log}") from None
        finally:
            client.close()
        return self

    def stop(self) -> None:
        """End the server (SIGTERM, then SIGKILL), keeping nothing (no persistence)."""
        if self.process is not None:
            end_process_group(self.process, grace=10)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would."""
        if self.process is not None:
            end_process_group(self.process, grace=0)

    def restart(self, *, empty: bool = True, down_for: float = 0.0) -> None:
        """Restart the server on the same port.

        Args:
            empty: come back without any data (killed, dump removed), as a Redis without
                persistence does; ``False`` saves on shutdown and loads it again.
            down_for: seconds to stay down between the two.
        """
        if empty:
            self.kill()
            (self.directory / "dump.rdb").unlink(missing_ok=True)
        elif self.running:
            client = self.client()
            try:
                client.shutdown(save=True)
            except redis.ConnectionError:
                pass  # the server closes the connection as it exits
            finally:
                client.close()
            assert self.process is not None
            self.process.wait(15)
        if down_for:
            time.sleep(down_for)
        self.start()

    def close(self) -> None:
        """Kill the server and remove its directory (if it made it): the fixture's teardown."""
        self.kill()
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

"""Test hosts: network namespaces joined by veth links to a bridge, to partition for real.

The bridge lives in the root namespace and has the ``.1`` address of a private /24 picked at
random from 10.200.0.0-10.254.255.0 (one no interface here uses), so servers of the test
(:class:`~tests.support.redis_server.RedisServer` with ``bind=(hosts.gateway,)``) are reachable
from every host, as the brokers on a third machine would be. Each host is a namespace with one
link (``eth0``, ``.10``, ``.11``, ...) to the bridge. :meth:`Hosts.cut` takes the host's link
down: its packets go nowhere, with no reset or error, as when a cable or switch fails; its
processes keep running. Needs root (CAP_NET_ADMIN) and ``ip``; iptables/nft are not needed.
"""

from __future__ import annotations

import random
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.process import end_process_group


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def netns_unavailable() -> str | None:
    """Why network namespaces cannot be made here, or ``None`` if they can."""
    probe = f"btprobe{uuid.uuid4().hex[:6]}"
    try:
        result = _ip("netns", "add", probe, check=False)
    except FileNotFoundError:
        return "the ip command is not installed"
    if result.returncode != 0:
        return f"ip netns add failed: {result.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def _used_prefixes() -> set[str]:
    out = _ip("-4", "-o", "addr", "show").stdout + _ip("-4", "route", "show", "table", "all").stdout
    return {".".join(word.split(".")[:3]) for word in out.split() if word.count(".") == 3}


@dataclass
class Host:
    """One test host: a network namespace with one address on the test bridge."""

    name: str
    namespace: str
    address: str
    #: The root-namespace end of its link (what :meth:`Hosts.cut` takes down).
    link: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)


class Hosts:
    """Test hosts on a private bridge; :meth:`close` removes everything, test failed or not."""

    def __init__(self) -> None:
        """Make the bridge (hosts are added with :meth:`add`).

        Raises:
            subprocess.CalledProcessError: an ``ip`` command failed (its stderr attached).
        """
        self.id = uuid.uuid4().hex[:4]
        used = _used_prefixes()
        candidates = [f"10.{a}.{b}" for a in range(200, 255) for b in range(256)]
        self.prefix = random.choice([c for c in candidates if c not in used])
        self.gateway = f"{self.prefix}.1"
        self.bridge = f"bt{self.id}br"
        self.hosts: dict[str, Host] = {}
        _ip("link", "add", self.bridge, "type", "bridge")
        try:
            _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
        except subprocess.CalledProcessError:
            self.close()
            raise

    def add(self, name: str) -> Host:
        """Make a host: a namespace linked to the bridge, with an address and loopback up.

        Args:
            name: the host's name in the test (``w1``).

        Returns:
            The host.
        """
        index = len(self.hosts)
        namespace = f"bt{self.id}-{name}"
        outside, inside = f"bt{self.id}h{index}", f"bt{self.id}n{index}"
        host = Host(name, namespace, f"{self.prefix}.{10 + index}", outside)
        self.hosts[name] = host
        _ip("netns", "add", namespace)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", namespace)
        _ip("link", "set", outside, "master", self.bridge)
        _ip("link", "set", outside, "up")
        inns = ("-n", namespace)
        _ip(*inns, "link", "set", inside, "name", "eth0")
        _ip(*inns, "addr", "add", f"{host.address}/24", "dev", "eth0")
        _ip(*inns, "link", "set", "eth0", "up")
        _ip(*inns, "link", "set", "lo", "up")
        return host

    def run(
        self,
        host: str,
        argv: list[str],
        env: dict[str, str],
        *,
        log: Path | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside ``host`` (``ip netns exec``); it is ended by :meth:`close`.

        Args:
            host: a host made by :meth:`add`.
            argv: the command.
            env: its whole environment.
            log: a file for its stdout and stderr (discarded when ``None``).
            cwd: its working directory.

        Returns:
            The process (its own process group; ``ip netns exec`` execs, so the PID is the
            command's).
        """
        target = self.hosts[host]
        out = log.open("ab") if log is not None else subprocess.DEVNULL
        try:
            process = subprocess.Popen(
                ["ip", "netns", "exec", target.namespace, *argv],
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if log is not None:
                out.close()  # type: ignore[union-attr]
        target.processes.append(process)
        return process

    def cut(self, host: str) -> None:
        """Partition ``host``: its link goes down; its processes keep running, unreachable."""
        _ip("link", "set", self.hosts[host].link, "down")

    def heal(self, host: str) -> None:
        """Reconnect ``host``."""
        _ip("link", "set", self.hosts[host].link, "up")

    def close(self) -> None:
        """End every process started in the hosts (by PID), delete namespaces, links, bridge."""
        for host in self.hosts.values():
            for process in host.processes:
                end_process_group(process, grace=3)
        for host in self.hosts.values():
            _ip("link", "del", host.link, check=False)  # deletes both ends of the veth pair
            _ip("netns", "del", host.namespace, check=False)
        _ip("link", "del", self.bridge, check=False)
        self.hosts.clear()

"""A deployment with ``BUS_AUTH=required`` for the wiring tests: a root, credentials files, and
settings that make a process act as one identity (or, for a worker, several)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bus import Bus
from bus.auth import admin
from bus.auth.certificates import Credentials, Role
from bus.auth.keypairs import RootKey
from bus.auth.policy import Policy
from bus.auth.storage import AuthStore, open_auth_store
from bus.broker.wire import Delivery
from bus.channels import Retention, Stream
from bus.message import Message
from bus.settings import BusSettings
from bus.settings.transports import resolve_store_url
from bus.store import open_store


class Deployment:
    """One bus namespace with auth required, its root key and the credentials issued in it.

    Args:
        settings: The transport's settings (a fresh namespace).
        directory: Where credentials files are written.
    """

    def __init__(self, settings: BusSettings, directory: Path) -> None:
        self.root = RootKey.generate()
        self.directory = directory
        self.store_url = resolve_store_url(settings.broker_url, settings.store_url)
        self.auth_store: AuthStore = open_auth_store(self.store_url, settings.namespace)
        self.settings = settings.model_copy(
            update={
                "auth": "required",
                "root_public_key": self.root.public_key_b64,
                "auth_refresh_seconds": 0.5,
                "publish_rate": 0.0,
            }
        )
        self.credentials: dict[str, Credentials] = {}
        self._buses: list[Bus] = []

    def issue(self, name: str, role: Role = "agent", *, into: str = "") -> Path:
        """Credentials for ``name``, written to ``<directory>/<into>/<name>.json``."""
        folder = self.directory / into
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.json"
        self.credentials[name] = admin.issue_credentials(
            self.root, self.auth_store, name, role=role, path=path
        )
        return path

    def settings_as(self, name: str, **overrides: object) -> BusSettings:
        """Settings of a process acting as ``name`` (issued first if it was not)."""
        path = self.directory / f"{name}.json"
        if name not in self.credentials:
            self.issue(name)
        return self.settings.model_copy(update={"credentials": str(path), **overrides})

    def bus_as(self, name: str, **overrides: object) -> Bus:
        """A started bus acting as ``name``; stopped at :meth:`close`."""
        bus = Bus(self.settings_as(name, **overrides)).start()
        self._buses.append(bus)
        return bus

    def change(self, edit: Callable[[Policy], Policy]) -> Policy:
        """Sign and store a change of the policy."""
        return admin.change_policy(self.auth_store, self.root, edit)

    def revoke(self, name: str) -> None:
        """Revoke every key of ``name``."""
        admin.revoke_identity(self.root, self.auth_store, name)

    def close(self) -> None:
        """Stop the buses made here and delete the namespace."""
        for bus in self._buses:
            bus.stop()
        store = open_store(self.store_url, self.settings.namespace)
        store.destroy()
        store.close()
        self.auth_store.destroy()
        self.auth_store.close()


def inject(bus: Bus, message: Message, *, deliver_to: str | None = None) -> int:
    """Write ``message`` straight into its stream's log, as a store writer would (no guard), and,
    with ``deliver_to``, publish a delivery of it to that agent's queue, as a broker writer would.

    Returns:
        The seq the log gave it.
    """
    stream = (
        Stream.of_inbox(message.recipient)
        if message.recipient is not None
        else Stream.of_channel(message.channel or "")
    )
    body = message.model_dump_json(exclude={"seq"})
    seq = bus.store.log.append(stream.id, body, int(time.time() * 1000), Retention()).seq
    if deliver_to is not None:
        bus.broker.publish([Delivery(deliver_to, message.channel, seq, str(message.id))])
    return seq


def received(bus: Bus, agent: str, count: int, timeout: float = 10.0) -> Iterator[Message]:
    """Up to ``count`` messages ``agent`` receives, each within ``timeout`` seconds."""
    for _ in range(count):
        message = bus.receive(agent, timeout=timeout)
        if message is None:
            return
        yield message


@contextmanager
def deployed(settings: BusSettings, directory: Path) -> Iterator[Deployment]:
    """A :class:`Deployment` with ``ops`` (an operator), ``alice`` and ``bob`` issued; closed
    at the end of the block."""
    deployment = Deployment(settings, directory)
    deployment.issue("ops", "operator")
    for name in ("alice", "bob"):
        deployment.issue(name)
    try:
        yield deployment
    finally:
        deployment.close()

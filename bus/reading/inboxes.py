"""The inboxes one bus opened in this process (one per agent), and the entries a failure kept
from being handed over (:meth:`Inboxes.keep`): those come first at the agent's next receive."""

from __future__ import annotations

import threading
from collections.abc import Callable

from celery import Celery

from bus.broker.topology import Topology
from bus.errors import StoreReset
from bus.reading.inbox import RETIRE_WAIT, Inbox
from bus.reading.receipt_drafts import ReceiptDrafts
from bus.settings import BusSettings
from bus.settings.transports import transport_of
from bus.store import Entry


def open_inbox(
    app: Celery,
    topology: Topology,
    settings: BusSettings,
    agent: str,
    receipts: ReceiptDrafts | None = None,
) -> Inbox:
    """The inbox of ``agent`` on a connection of ``app``, as ``settings`` configure it
    (``receipts``: drafts the receipts its hand-overs push)."""
    return Inbox(
        app.connection_for_read(),
        topology.agent_queue(agent),
        settings.prefetch_count,
        agent,
        batch=settings.receive_batch,
        lease_seconds=settings.lease_seconds,
        coalesced=settings.coalesce_deliveries,
        # In one process a delivery not there by the time its message is claimed comes later,
        # and is dropped as stale then: no wait for it.
        retire_wait=0.0 if transport_of(settings.broker_url).in_process else RETIRE_WAIT,
        receipts=receipts,
    )


class Inboxes:
    """The inboxes a bus opened in this process, one per agent, made on first receive."""

    def __init__(self, open_inbox: Callable[[str], Inbox]) -> None:
        self._open = open_inbox
        self._lock = threading.Lock()
        self._inboxes: dict[str, Inbox] = {}
        self._stopping = threading.Event()
        #: agent -> entries claimed for it that a failure kept from being handed over.
        self._kept: dict[str, list[Entry]] = {}

    def keep(self, agent: str, entry: Entry) -> None:
        """Hold ``entry``, claimed for ``agent``, for its next receive: something failed after
        the claim moved the agent's position, and the entry must not be lost."""
        with self._lock:
            self._kept.setdefault(agent, []).append(entry)

    def kept(self, agent: str, stream: str | None) -> Entry | None:
        """The oldest entry held for ``agent`` (of ``stream``, if given), taken out."""
        with self._lock:
            held = self._kept.get(agent, [])
            for index, entry in enumerate(held):
                if stream is None or entry.stream == stream:
                    return held.pop(index)
        return None

    @property
    def stopping(self) -> bool:
        """Whether :meth:`close` was called (receives still waiting return ``None``)."""
        return self._stopping.is_set()

    def open(self) -> None:
        """Accept receives again after :meth:`close`."""
        self._stopping.clear()

    def opened(self, agent: str) -> Inbox | None:
        """The agent's inbox if it is open and usable (:meth:`get` would not connect)."""
        inbox = self._inboxes.get(agent)
        return None if inbox is None or inbox.broken else inbox

    def get(self, agent: str) -> Inbox:
        """The agent's inbox, opened on first use."""
        broken = None
        try:
            with self._lock:
                inbox = self._inboxes.get(agent)
                if inbox is not None and inbox.broken:
                    # Its connection failed: the broker requeued what it held; consume afresh.
                    broken, inbox = self._inboxes.pop(agent), None
                if inbox is None:
                    inbox = self._inboxes[agent] = self._open(agent)
        finally:
            if broken is not None:  # outside self._lock: a receive may hold its lock
                with broken.lock:
                    broken.close()
        return inbox

    def store_reset(self, error: StoreReset) -> None:
        """The store lost its state: what each inbox knows of positions is void."""
        self.forget()

    def forget(self) -> None:
        """Drop what every inbox knows of its agent's streams."""
        with self._lock:
            inboxes = list(self._inboxes.values())
            self._kept.clear()  # their seqs belong to the state the store lost
        for inbox in inboxes:
            inbox.forget()

    def close(self) -> None:
        """Close every inbox; a receive waiting in another thread returns within a second."""
        self._stopping.set()
        with self._lock:
            inboxes, self._inboxes = list(self._inboxes.values()), {}
        for inbox in inboxes:
            with inbox.lock:
                inbox.close()

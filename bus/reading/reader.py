"""Reading: pull receive and history, each message let through the guard before it is handed over.

A message the guard refuses (a forged sender, a changed field, a revoked key) is never handed
over: it goes to ``refused`` (the bus makes it a dead letter with the reason) and the reader moves
on to the next one, in order.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from time import monotonic, time, time_ns

from bus import tracing
from bus.access.guard import Action, Guard
from bus.channels import Stream
from bus.errors import (
    AuthenticationFailed,
    BusError,
    InvalidArgument,
    MessageDecodeError,
    NotSubscribed,
)
from bus.message import Message
from bus.reading.history import read_history
from bus.reading.inboxes import Inboxes
from bus.reading.receipt_drafts import ReceiptDrafts
from bus.reading.replays import copy_refusal
from bus.registry.service import Registry
from bus.store import Entry, Store

#: Called with the reading agent (``None``: a history reader), a refused message, the stream it
#: was read from and why.
logger = logging.getLogger(__name__)

Refused = Callable[[str | None, Message, Stream, AuthenticationFailed], None]


def _check_timeout(timeout: float | None, agent: str) -> None:
    if timeout is not None and (
        not isinstance(timeout, int | float) or isinstance(timeout, bool) or not timeout >= 0
    ):
        raise InvalidArgument(
            f"timeout must be a number >= 0 or None, not {timeout!r}", field="timeout", agent=agent
        )


class Reader:
    """Pull receive and history of one bus."""

    def __init__(
        self,
        registry: Registry,
        inboxes: Inboxes,
        store: Callable[[], Store],
        guard: Guard,
        refused: Refused,
        receipts: ReceiptDrafts | None = None,
    ) -> None:
        self._registry = registry
        #: Pushes the ``skipped`` receipts of the skips receives find (``None``: notes only).
        self._receipts = receipts
        self._inboxes = inboxes
        self._store = store
        self._guard = guard
        self._refused = refused
        #: (agent, stream) -> messages retention trimmed before the agent read them: a metric.
        self.skipped: Counter[tuple[str, str]] = Counter()

    def _admitted(self, agent: str | None, message: Message, stream: Stream) -> bool:
        try:
            self._guard.admit(message, stream, agent=agent)
        except AuthenticationFailed as exc:
            self._refused(agent, message, stream, exc)
            return False
        return True

    def receive(self, agent: str, channel: str | None, timeout: float | None) -> Message | None:
        """See :meth:`bus.Bus.receive`."""
        started = time_ns() if tracing.active() else 0
        store, stream = self.checked(agent, channel, timeout)
        inboxes = self._inboxes
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - monotonic())
            entry = inboxes.kept(agent, stream) or inboxes.get(agent).receive(
                store, stream, left, lambda: inboxes.stopping
            )
            if entry is None:
                return None
            message = self._handed(store, agent, entry, started)
            if message is not None:
                return message

    def checked(
        self, agent: str, channel: str | None, timeout: float | None
    ) -> tuple[Store, str | None]:
        """The store and the stream (``None``: every stream of the agent) of a receive, once it
        passed the checks :meth:`bus.Bus.receive` names."""
        store = self._store()  # raises BusNotStarted before any connection is opened
        self._registry.require_agent(agent)
        _check_timeout(timeout, agent)
        self._guard.check(Action.SUBSCRIBE, Stream.of_inbox(agent), agent=agent)
        if channel is None:
            return store, None
        self._registry.spec(channel)
        stream = Stream.of_channel(channel).id
        if store.log.position(agent, stream) is None:
            raise NotSubscribed(
                f"agent {agent!r} is not a member of {channel!r}", agent=agent, channel=channel
            )
        return store, stream

    def receive_now(
        self, store: Store, agent: str, stream: str | None, *, missed: bool, started: int = 0
    ) -> Message | None:
        """The agent's next message if one is at hand, without waiting (see
        :meth:`Inbox.receive_now <bus.reading.inbox.Inbox.receive_now>`); the receive's checks
        passed (:meth:`checked`) and its inbox open (:meth:`Inboxes.get`)."""
        inboxes = self._inboxes
        while True:
            entry = inboxes.kept(agent, stream) or inboxes.get(agent).receive_now(
                store, stream, missed=missed
            )
            if entry is None:
                return None
            message = self._handed(store, agent, entry, started)
            if message is not None:
                return message

    def _handed(self, store: Store, agent: str, entry: Entry, started: int) -> Message | None:
        """The message of a claimed entry, or ``None`` if it cannot be handed over (unreadable,
        lost, refused by the guard or a copy: a dead letter; not for the agent's eyes): the
        receive reads on."""
        message = _readable(entry)
        if message is None:
            return None
        try:
            admitted = self._admitted(agent, message, Stream.parse(entry.stream))
            admitted = admitted and self._first(store, agent, entry, message)
            # A dead letter (or a message) the agent may not see: passed over, unseen.
            admitted = admitted and self._guard.visible(message, agent=agent)
        except BusError:  # claimed already: the next receive hands it over
            self._inboxes.keep(agent, entry)
            raise
        if entry.skipped:
            self.skipped[(agent, entry.stream)] += entry.skipped
            logger.warning(
                "%s skipped %d message(s) of %s before #%s: retention trimmed them before "
                "it read them (overflow=drop-oldest)",
                agent,
                entry.skipped,
                entry.stream,
                entry.seq,
            )
            self._note_skipped(store, agent, entry.stream, entry.seq, entry.skipped)
        if not admitted:
            return None
        if started:
            tracing.received(agent, message, started)
        return message

    def _first(self, store: Store, agent: str, entry: Entry, message: Message) -> bool:
        """Whether ``message`` is at its first place; a copy is refused (a dead letter)."""
        refusal = copy_refusal(store, entry, message)
        if refusal is None:
            return True
        self._refused(agent, message, Stream.parse(entry.stream), refusal)
        return False

    def _note_skipped(self, store: Store, agent: str, stream: str, seq: int, skipped: int) -> None:
        """Note the skip in the receipts of the skipped messages, and push their consuming
        senders a ``skipped`` receipt each; the message in hand is handed over all the same."""
        try:
            now = int(time() * 1000)
            if self._receipts is None:
                store.receipts.note_skipped(agent, stream, seq - skipped, seq - 1, now, ())
            else:
                self._receipts.note_skip(store, agent, stream, seq - skipped, seq - 1, now)
        except BusError as exc:
            logger.warning("could not note %s's skip on %s: %s", agent, stream, exc)

    def history(
        self,
        stream: Stream,
        *,
        agent: str | None,
        limit: int | None = None,
        after: int | None = None,
        since: datetime | None = None,
    ) -> list[Message]:
        """The retained messages of ``stream`` that the guard admits, oldest first."""
        if stream.channel is not None:
            retention = self._registry.spec(stream.channel).retention
        else:
            retention = self._registry.default_retention
        self._guard.check(Action.SUBSCRIBE, stream, agent=agent, history=True)
        messages = read_history(
            self._store(), stream.id, retention, limit=limit, after=after, since=since
        )
        # What the reader may not see is left out unseen, before it is verified (a sender
        # reading another's inbox sees only its own direct messages; dead letters per reader).
        guard = self._guard
        return [
            message
            for message in messages
            if guard.visible(message, agent=agent) and self._admitted(agent, message, stream)
        ]


def _readable(entry: Entry) -> Message | None:
    """The message of ``entry``; ``None`` (logged) if no receive could hand it over: stored
    unreadable, or lost in a store failover after it was acknowledged (a fence's mark)."""
    if entry.lost:
        logger.error("%s #%s lost in a store failover: %s", entry.stream, entry.seq, entry.body)
        return None
    try:
        return Message.from_json(entry.json)
    except MessageDecodeError as exc:
        logger.error("%s #%s cannot be read, skipped: %s", entry.stream, entry.seq, exc)
        return None

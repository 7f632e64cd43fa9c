"""What the console shows, read through the public :class:`bus.Bus` API: channels, direct
messages, a page of a timeline, each message's delivery ticks, agents (with the guards' open
circuits and budgets, as ``bus agents`` and ``bus budgets`` read them) and dead letters.

Every method blocks (the bus is synchronous); the pages call them in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from bus.channels import Stream
from bus.core import Bus
from bus.deadletters.records import DeadLetter, letter_of
from bus.errors import PermissionDenied, UnknownMessage
from bus.message import Message
from bus.publishing.limits import BudgetLine, budget_lines
from bus.receipts import FINAL_STATES, DeliveryStatus
from bus.store.contracts.guards import Circuit
from bus.tracing.tree import Trace, TraceNode

#: Most message ids one request for ticks may name.
MAX_TICKS = 200


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: a person's name and whether they see everything (an operator, or anyone
    when auth is off)."""

    name: str
    operator: bool

    def may_read_inbox(self, agent: str) -> bool:
        """The policy's rule for direct messages (:meth:`bus.auth.policy.Policy.allows`
        ``subscribe`` on an inbox): only its owner and operators."""
        return self.operator or self.name == agent

    def may_read(self, channel: str | None, recipient: str | None, sender: str) -> bool:
        """The policy's rule for a message read from history
        (:meth:`bus.auth.policy.Policy.may_read`) as the console applies it: a channel's
        message, yes (channel pages are not filtered per person); a direct message, only its
        recipient, its sender and operators."""
        return channel is not None or self.operator or self.name in (recipient, sender)


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """One line of the channels list."""

    name: str
    kind: str
    members: tuple[str, ...]
    last_seq: int
    #: The most any member is behind (messages stored it has not read yet).
    lag: int


@dataclass(frozen=True, slots=True)
class AgentRow:
    """One line of the agents page."""

    name: str
    channels: tuple[str, ...]
    #: ``(worker id, last seen, alive)`` of each worker hosting it.
    workers: tuple[tuple[str, datetime, bool], ...]
    #: Stream label (a channel, or ``DM``) -> messages it has not read yet.
    lags: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """A page of a stream's messages, oldest first, and the seq to page back from."""

    messages: list[Message]
    #: Pass as ``before`` for the page before this one (``None``: this is the oldest).
    older: int | None
    #: The newest seq of the stream when the page was read (the event stream goes on after it).
    head: int


class ConsoleReads:
    """The console's reads over one started bus."""

    def __init__(self, bus: Bus, page_size: int) -> None:
        self.bus = bus
        self.page_size = page_size

    def _lags(self) -> dict[str, dict[str, int]]:
        """Agent -> stream id -> messages it is behind (what ``bus agents`` shows)."""
        return {
            agent: {
                lag.stream: lag.head - lag.position for lag in self.bus.store.leases.backlog(agent)
            }
            for agent in self.bus.agents()
        }

    def channels(self) -> list[ChannelRow]:
        """Every channel, its kind, members, last seq and the largest lag of its members."""
        lags = self._lags()
        rows = []
        for info in self.bus.list_channels():
            stream = Stream.of_channel(info.name).id
            behind = [lags.get(member, {}).get(stream, 0) for member in info.members]
            rows.append(
                ChannelRow(
                    name=info.name,
                    kind=str(info.spec.kind),
                    members=tuple(sorted(info.members)),
                    last_seq=info.last_seq,
                    lag=max(behind, default=0),
                )
            )
        return rows

    def inboxes(self, viewer: Viewer) -> list[tuple[str, int]]:
        """``(agent, last DM seq)`` of each agent whose direct messages ``viewer`` may read."""
        found = []
        for agent in self.bus.agents():
            if viewer.may_read_inbox(agent):
                last = self.bus.direct_history(agent, limit=1)
                found.append((agent, last[-1].seq or 0 if last else 0))
        return found

    def page(self, stream: Stream, before: int | None = None) -> TimelinePage:
        """The newest page of ``stream``, or the page just before seq ``before``.

        Raises:
            UnknownChannel, UnknownAgent; PermissionDenied when the bus may not read it.
        """
        size = self.page_size
        if before is None:
            messages = self._history(stream, limit=size)
        else:
            after = max(0, before - size - 1)
            messages = [m for m in self._history(stream, after=after) if (m.seq or 0) < before]
            messages = messages[-size:]
        newest = self._history(stream, limit=1)
        head = newest[-1].seq or 0 if newest else 0
        first = messages[0].seq or 0 if messages else 0
        return TimelinePage(messages, older=first if first > 1 else None, head=head)

    def _history(self, stream: Stream, **filters: int) -> list[Message]:
        if stream.channel is not None:
            return self.bus.history(stream.channel, **filters)  # type: ignore[arg-type]
        assert stream.owner is not None  # a stream that is not a channel's is an inbox
        return self.bus.direct_history(stream.owner, **filters)  # type: ignore[arg-type]

    def after(self, stream: Stream, seq: int) -> list[Message]:
        """Every retained message of ``stream`` after ``seq``, oldest first."""
        return self._history(stream, after=seq)

    def head(self, stream: Stream) -> int:
        """The newest retained seq of ``stream`` (0 if none)."""
        newest = self._history(stream, limit=1)
        return newest[-1].seq or 0 if newest else 0

    def ticks(self, message_ids: list[str], viewer: Viewer) -> dict[str, dict[str, object]]:
        """Message id -> ``{"final": bool, "members": [[member, state, detail], ...]}`` for each
        id the bus knows and ``viewer`` may read (at most :data:`MAX_TICKS`)."""
        found: dict[str, dict[str, object]] = {}
        for message_id in message_ids[:MAX_TICKS]:
            try:
                status = self.bus.status(message_id)
            except (UnknownMessage, PermissionDenied):
                continue
            if not viewer.may_read(status.channel, status.recipient, status.sender):
                continue
            found[str(status.message_id)] = tick_data(status)
        return found

    def agents(self) -> list[AgentRow]:
        """Every agent, its channels, the workers hosting it and its lag per stream."""
        lags = self._lags()
        workers = self.bus.store.liveness.workers()
        rows = []
        for agent in self.bus.agents():
            hosts = tuple(
                (w.worker, datetime.fromtimestamp(w.last_seen_ms / 1000, UTC), w.alive)
                for w in workers
                if agent in w.agents
            )
            behind = {
                Stream(stream).channel or "DM": count
                for stream, count in lags.get(agent, {}).items()
                if count
            }
            rows.append(AgentRow(agent, tuple(self.bus.subscriptions(agent)), hosts, behind))
        return rows

    def circuits(self) -> list[Circuit]:
        """The guards' circuits not closed (open, or half-open: the next send is the trial)."""
        return self.bus.store.guards.circuits()

    def budgets(self) -> list[BudgetLine]:
        """Each agent's spend in the current budget window against its limits."""
        settings, guards = self.bus.settings, self.bus.store.guards
        spend = guards.spending(int(settings.budget_window * 1000))
        return budget_lines(settings, spend, guards.limits())

    def dead_letters(self, viewer: Viewer) -> list[tuple[int, DeadLetter]]:
        """``(dead-letter seq, letter)`` of the newest page of dead letters that ``viewer`` may
        read (a dead direct message: its recipient and sender only), newest first."""
        channel = self.bus.settings.dead_letter_channel
        found = [
            (message.seq or 0, letter)
            for message in self.bus.history(channel, limit=self.page_size)
            if (letter := letter_of(message)) is not None
            and viewer.may_read(letter.channel, letter.message.recipient, letter.message.sender)
        ]
        return list(reversed(found))

    def thread(self, message_id: str, viewer: Viewer) -> Trace:
        """The causation tree of a message (:meth:`bus.Bus.trace`) without the direct
        messages ``viewer`` may not read (nor what they caused).

        Raises:
            UnknownMessage, InvalidArgument; PermissionDenied: the viewer may read none of it.
        """
        trace = self.bus.trace(message_id)
        root = _readable(trace.root, viewer)
        if root is None:
            raise PermissionDenied(f"{viewer.name!r} may not read message {message_id}")
        return trace.model_copy(update={"root": root})

    def contents(self, trace: Trace) -> dict[str, str]:
        """Message id -> content of each message of ``trace`` (which :meth:`bus.Bus.trace` let
        through the guard), in one look at the store's message index and one at the replies
        kept for their causes (a reply handed to a waiting requester, without a seq)."""
        ids, answered, pending = [], [], [trace.root]
        while pending:
            node = pending.pop()
            ids.append(str(node.message_id))
            if any(child.seq is None for child in node.children):
                answered.append(str(node.message_id))
            pending.extend(node.children)
        store = self.bus.store
        found = store.log.find(ids)
        contents = {key: Message.from_json(got.entry.json).content for key, got in found.items()}
        for bodies in store.replies.answers(answered).values() if answered else ():
            for body in bodies:
                reply = Message.from_json(body)
                contents[str(reply.id)] = reply.content
        return contents


def _readable(node: TraceNode, viewer: Viewer) -> TraceNode | None:
    if not viewer.may_read(node.channel, node.recipient, node.sender):
        return None
    children = tuple(
        kept for child in node.children if (kept := _readable(child, viewer)) is not None
    )
    return node.model_copy(update={"children": children})


def tick_data(status: DeliveryStatus) -> dict[str, object]:
    """A status as the page's script reads it."""
    members = []
    for name, member in status.members.items():
        detail = member.error or (member.worker or "")
        members.append([name, member.state.value, detail])
    final = all(member.state in FINAL_STATES for member in status.members.values())
    return {"final": final, "members": members}

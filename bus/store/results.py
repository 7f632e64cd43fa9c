"""What store operations return: named results instead of anonymous tuples.

They are :class:`~typing.NamedTuple` s, so a caller may still unpack them
(``seq, recipients = store.append(...)``).

The store keeps a message's JSON as it was given, encoded without ``seq`` (the seq is only known
once the store numbers it), and hands the seq back beside it. :attr:`Entry.json` is the one place
that puts the two together.
"""

from __future__ import annotations

from typing import NamedTuple

from bus.store.pushed import Pushed


class Appended(NamedTuple):
    """A message just appended to a stream."""

    #: The sequence number the stream gave it.
    seq: int
    #: The agents it goes to: the channel's members at that instant (unsorted), or the inbox's
    #: owner if registered.
    recipients: list[str]
    #: With coalesced deliveries, the recipients to wake (no delivery of theirs outstanding on
    #: the stream); ``None``: every recipient.
    woken: list[str] | None = None

    @property
    def overloaded(self) -> list[str]:
        """Channel members the guards noted overloaded (drop-oldest: stored for them anyway;
        see :class:`Guarded`)."""
        return []

    @property
    def closed(self) -> bool:
        """Whether this send was the trial that closed its pair's circuit."""
        return False

    @property
    def to_wake(self) -> list[str]:
        """The recipients whose delivery must be published."""
        return self.recipients if self.woken is None else self.woken

    @property
    def duplicate(self) -> bool:
        """Whether a message with the same idempotency key was appended already, as ``seq``
        (see :class:`Duplicate`)."""
        return False


class Guarded(Appended):
    """An append after which the guards have something to say: members noted overloaded, or
    the pair's circuit closed (see :mod:`bus.store.contracts.guards`)."""

    said: tuple[list[str], bool]

    @classmethod
    def of(cls, appended: Appended, overloaded: list[str], closed: bool) -> Appended:
        """``appended`` with what the guards said (itself when they said nothing)."""
        if not overloaded and not closed:
            return appended
        made = cls(*appended)
        made.said = (overloaded, closed)
        return made

    @property
    def overloaded(self) -> list[str]:
        """See :attr:`Appended.overloaded`."""
        return self.said[0]

    @property
    def closed(self) -> bool:
        """See :attr:`Appended.closed`."""
        return self.said[1]


class Duplicate(Appended):
    """An append that found its idempotency key used: nothing was appended, ``seq`` is the
    first append's and there are no recipients."""

    @property
    def duplicate(self) -> bool:
        """Always ``True``."""
        return True


class Dedupe(NamedTuple):
    """An append's idempotency key: a second append with the same key to the same stream within
    ``window_ms`` appends nothing and answers the first one's seq."""

    key: str
    window_ms: int


class Entry(NamedTuple):
    """One retained message of a stream."""

    #: The stream id (``c:<channel>`` or ``d:<agent>``).
    stream: str
    #: Its sequence number in the stream.
    seq: int
    #: Its JSON as appended: an object encoded without ``seq``.
    body: str
    #: How many messages after the reader's position retention trimmed before this one was
    #: claimed (they are lost to the reader; see ``Overflow``): 0 when it read on in order.
    skipped: int = 0
    #: What the message index said of the id the body starts with, read in the same step:
    #: ``"<id> <stream> <seq> ..."`` (``"<id> "``: not indexed); ``None``: not read with it
    #: (see :func:`bus.reading.replays.copy_refusal`).
    placed: str | None = None

    @property
    def lost(self) -> bool:
        """Whether this seq was lost in a store failover after it was acknowledged: the store
        holds a mark in its place (see :class:`Fence`), which readers skip, loudly."""
        return self.body.startswith(LOST_MARK)

    @property
    def json(self) -> str:
        """The message's JSON with its ``seq`` (``{...,"seq":12}``), as
        :meth:`bus.message.Message.from_json` reads it."""
        # Last, so the position wins over a "seq" the stored body may carry (a JSON reader
        # keeps the last of two equal keys): the store's place is the message's seq.
        head = self.body.rstrip()[:-1]
        separator = "" if head.rstrip().endswith("{") else ","
        return f'{head}{separator}"seq":{self.seq}}}'

    @property
    def wants_receipt(self) -> bool:
        """Whether the store did not hand this entry over because its sender consumes pushed
        receipts (see :class:`Wanting`)."""
        return False


class Wanting(Entry):
    """A pull reader's next message, not handed over: its sender consumes pushed receipts and
    the step was given none for it. Nothing moved; the reader builds the receipt and takes it
    again with it (:meth:`~bus.store.contracts.leases.LeaseStore.take`, ``receipt``)."""

    @property
    def wants_receipt(self) -> bool:
        """Always ``True``."""
        return True


#: What a log holds in place of each seq a fence burnt: ``"BUSLOST <first>-<last>"``.
LOST_MARK = "BUSLOST"


class Fence(NamedTuple):
    """Seqs ``first``..``last`` of ``stream`` that clients saw acknowledged and the store lost
    (a failover to a replica that lacked them): burnt, so no other message gets them."""

    stream: str
    first: int
    last: int
    #: When the fence was put up (ms since the epoch, the noticing process's clock).
    at_ms: int
    #: Who noticed (``publisher``, ``reader``, ``worker <id>``, with the host and pid).
    by: str


class Failure(NamedTuple):
    """The failed attempts at a stream's next message."""

    #: How many attempts failed so far.
    attempts: int
    #: When (epoch milliseconds) it may be tried again.
    not_before_ms: int


class Holder(NamedTuple):
    """Who holds (or held) a lease another token asked for."""

    #: The worker whose token it is (see :func:`~bus.store.contracts.liveness.lease_token`), or
    #: ``None`` for a token that names none (a pull reader's).
    worker: str | None
    #: Milliseconds the lease lasts from now unless renewed (0: it was taken over).
    expires_in_ms: int = 0


class Step(NamedTuple):
    """What :meth:`~bus.store.contracts.leases.LeaseStore.begin` and ``advance``
    found."""

    #: Whether the caller's token holds (or held, if there was nothing to do) the lease;
    #: ``False`` if another token holds it.
    held: bool
    #: The next message to handle, or ``None`` (nothing up to ``upto``, or not held).
    entry: Entry | None = None
    #: Earlier failed attempts at ``entry``, if any.
    failure: Failure | None = None
    #: Not held: who holds the lease, and for how long. Held: the worker, no longer alive, whose
    #: lease this step took over (``None`` if the lease was free or the caller's).
    holder: Holder | None = None
    #: An advance given a receipt: what became of it (``None``: none was given).
    pushed: Pushed | None = None

    def with_pushed(self, pushed: Pushed | None) -> Step:
        """This step, saying what became of the advance's receipt."""
        return Step(self.held, self.entry, self.failure, self.holder, pushed)


class Batch(NamedTuple):
    """What :meth:`~bus.store.contracts.leases.LeaseStore.take` held for a pull reader."""

    #: Whether the caller's token holds (or held, if nothing was pending) the lease; ``False``
    #: if another token holds it, and nothing was committed.
    held: bool
    #: The messages held for the caller under the lease, in seq order (the first one's
    #: ``skipped`` counts what retention trimmed before it). A single :class:`Wanting` entry:
    #: nothing was handed over (its sender wants a receipt the call did not carry).
    entries: tuple[Entry, ...] = ()
    #: The receipt of the first entry's hand-over, if the call carried one (pushed receipts).
    pushed: Pushed | None = None
    #: The message after the batch, not handed over, if its sender wants a receipt: the
    #: reader may draft it now and give it to the take that hands that message over.
    ahead: Entry | None = None


class Lag(NamedTuple):
    """A stream an agent is behind on."""

    stream: str
    #: The last seq handed to the agent.
    position: int
    #: The stream's last seq.
    head: int


class WorkerRecord(NamedTuple):
    """A worker process's liveness record (:class:`~bus.store.contracts.liveness.LivenessStore`)."""

    #: The worker's id (``host/pid/nonce``).
    worker: str
    #: The agents it hosts.
    agents: tuple[str, ...]
    #: When it last beat (or stopped), epoch milliseconds of the store's clock.
    last_seen_ms: int
    #: Whether its record has not lapsed.
    alive: bool


#: How long a reply that arrived stays in its box for the waiter (milliseconds).
REPLY_KEEP_MS = 60_000

#: How many replies handed straight to a waiting requester a store keeps for ``bus trace``
#: (under the message that caused each), the oldest dropped first. Such a reply is in no
#: stream's log, so no stream's retention trims it: this bounds what they take (~10 MB).
ANSWERS_KEPT = 10_000

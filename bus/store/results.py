"""What store operations return: named results instead of anonymous tuples.

They are :class:`~typing.NamedTuple` s, so a caller may still unpack them
(``seq, recipients = store.append(...)``).

The store keeps a message's JSON as it was given, encoded without ``seq`` (the seq is only known
once the store numbers it), and hands the seq back beside it. :attr:`Entry.json` is the one place
that puts the two together.
"""

from __future__ import annotations

from typing import NamedTuple


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
    def to_wake(self) -> list[str]:
        """The recipients whose delivery must be published."""
        return self.recipients if self.woken is None else self.woken

    @property
    def duplicate(self) -> bool:
        """Whether a message with the same idempotency key was appended already, as ``seq``
        (see :class:`Duplicate`)."""
        return False


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

    @property
    def json(self) -> str:
        """The message's JSON with its ``seq`` (``{"seq":12,...}``), as
        :meth:`bus.message.Message.from_json` reads it."""
        rest = self.body[1:]
        separator = "" if rest.lstrip().startswith("}") else ","
        return f'{{"seq":{self.seq}{separator}{rest}'


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


class Batch(NamedTuple):
    """What :meth:`~bus.store.contracts.leases.LeaseStore.take` held for a pull reader."""

    #: Whether the caller's token holds (or held, if nothing was pending) the lease; ``False``
    #: if another token holds it, and nothing was committed.
    held: bool
    #: The messages held for the caller under the lease, in seq order (the first one's
    #: ``skipped`` counts what retention trimmed before it).
    entries: tuple[Entry, ...] = ()


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


class Traced(NamedTuple):
    """A retained message found by its id (see :meth:`~bus.store.contracts.log.LogStore.find`)."""

    #: Its stream, seq and JSON.
    entry: Entry
    #: The id of the message that caused it (``None``: no handler's message did).
    causation_id: str | None

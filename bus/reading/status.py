"""Receipts: a message's :class:`~bus.receipts.DeliveryStatus`, derived from the store.

The store keeps no state per (message, member) in the normal case, so each member's state is
derived from the facts :meth:`~bus.store.contracts.receipts.ReceiptStore.facts` reads
together: its position, its lease and the run's start, its failed attempts, and the notes of
what went otherwise. :func:`derive` is the whole rule; :class:`Statuses` is what the bus calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from uuid import UUID

from bus.access.guard import Action, Guard, OpenGuard
from bus.channels import Stream
from bus.errors import BusTimeout, InvalidArgument, UnknownMessage
from bus.message import Message
from bus.receipts import FINAL_STATES, DeliveryState, DeliveryStatus, MemberStatus
from bus.store import DeliveryFacts, MemberFacts, Note, Store

#: First and longest pause (seconds) between two looks of :meth:`Statuses.wait_for`.
FIRST_POLL, LONGEST_POLL = 0.02, 0.5


def _at(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def message_id_of(message_id: object) -> str:
    """``message_id`` as the index keys it (a UUID's canonical text).

    Raises:
        InvalidArgument: it is not a UUID.
    """
    try:
        return str(message_id if isinstance(message_id, UUID) else UUID(str(message_id)))
    except ValueError:
        raise InvalidArgument(
            f"not a message id (a UUID): {message_id!r}", field="message_id"
        ) from None


def _noted(note: Note) -> MemberStatus | None:
    if note.kind == "dead_lettered":
        state = DeliveryState.DEAD_LETTERED
    elif note.kind == "refused":
        state = DeliveryState.REFUSED
    elif note.kind == "skipped":
        state = DeliveryState.SKIPPED
    else:
        return None
    return MemberStatus(
        state=state,
        since=_at(note.at_ms),
        attempts=note.attempts,
        error=note.error,
        dead_letter_seq=note.dead_letter_seq,
    )


def member_status(
    facts: DeliveryFacts, member: MemberFacts, note: Note | None, now_ms: int
) -> MemberStatus:
    """One member's state (see :class:`~bus.receipts.DeliveryState`), from its facts."""
    seq = facts.located.seq
    if note is not None and (noted := _noted(note)) is not None:
        return noted
    failed = 0 if note is None else note.attempts
    error = None if note is None else note.error
    if member.position is None:
        return MemberStatus(state=DeliveryState.LEFT)
    if member.position >= seq:
        if note is not None and note.kind == "requested":  # a request is handled once replied
            return MemberStatus(state=DeliveryState.IN_PROGRESS, since=_at(note.at_ms), attempts=1)
        replied = note is not None and note.kind == "replied"
        return MemberStatus(
            state=DeliveryState.HANDLED,
            since=_at(note.at_ms) if replied and note is not None else None,
            attempts=failed + 1,
            error=error,
        )
    if seq < facts.first:
        return MemberStatus(state=DeliveryState.SKIPPED, attempts=failed)
    failure = member.failure if member.failure is not None and member.failure[0] == seq else None
    attempts = 0 if failure is None else failure[1]
    leased = member.lease is not None and member.position == seq - 1
    if failure is not None and not (leased and failure[2] <= now_ms):
        return MemberStatus(
            state=DeliveryState.RETRYING,
            since=_at(note.at_ms) if note is not None else None,
            attempts=attempts,
            error=error,
            next_attempt_at=_at(failure[2]),
        )
    if leased:
        started = member.started if member.started and member.started[0] == seq else None
        return MemberStatus(
            state=DeliveryState.IN_PROGRESS,
            since=_at(started[1]) if started else None,
            attempts=attempts + 1,
            worker=member.lease,
            error=error,
        )
    # An ``overloaded`` note (the guards stored it for a member over its max_pending) says so.
    return MemberStatus(state=DeliveryState.QUEUED, since=_at(facts.located.stored_ms), error=error)


def derive(message_id: str, facts: DeliveryFacts, now_ms: int) -> DeliveryStatus:
    """The message's status for each member of its audience."""
    located, stream = facts.located, Stream(facts.located.stream)
    return DeliveryStatus(
        message_id=UUID(message_id),
        channel=stream.channel,
        recipient=stream.owner,
        seq=located.seq,
        sender=located.sender,
        stored_at=datetime.fromtimestamp(located.stored_ms / 1000, UTC),
        retained=located.seq >= facts.first,
        members={
            agent: member_status(facts, facts.members[agent], facts.notes.get(agent), now_ms)
            for agent in sorted(facts.audience)
        },
    )


class Statuses:
    """Receipts of one bus: :meth:`status` and :meth:`wait_for`.

    Args:
        store: Returns the started bus's store.
        guard: Who may see a message's status: its sender, or who may read its stream.
    """

    def __init__(self, store: Callable[[], Store], guard: Guard | None = None) -> None:
        self._store = store
        self._guard = guard if guard is not None else OpenGuard()

    def status(self, message_id: object) -> DeliveryStatus:
        """See :meth:`bus.Bus.status`.

        Raises:
            PermissionDenied: with auth on, this process is not the message's sender and may
                not read its stream (an agent: another's inbox, or a channel the policy keeps
                from it).
        """
        key = message_id_of(message_id)
        facts = self._store().receipts.facts(key)
        if facts is None:
            raise UnknownMessage(
                f"no message {key} is known here: not published on this bus (namespace), or "
                "older than its stream keeps receipts (twice its retention)",
                message_id=key,
            )
        guard = self._guard
        if guard.identity is not None and guard.identity != facts.located.sender:
            # A member who may not read the message may not learn what became of it either.
            guard.check(Action.SUBSCRIBE, Stream(facts.located.stream))
        return self._awaited(key, facts, derive(key, facts, int(time.time() * 1000)))

    def _awaited(self, key: str, facts: DeliveryFacts, status: DeliveryStatus) -> DeliveryStatus:
        """``status``, with a request handed over before its requester noted it (the note is
        written just after the post: a quick reader can be first) in progress while its
        requester still waits for the reply: a request is handled once replied."""
        owner = Stream(facts.located.stream).owner
        member = None if owner is None else status.members.get(owner)
        if owner is None or member is None or member.state is not DeliveryState.HANDLED:
            return status
        if owner in facts.notes:  # requested or replied: the rule above applied it
            return status
        store = self._store()
        found = store.log.find([key]).get(key)
        if found is None:
            return status
        correlation_id = Message.from_json(found.entry.json).correlation_id
        if correlation_id is None or not store.replies.waiting(str(correlation_id)):
            return status
        waited = MemberStatus(state=DeliveryState.IN_PROGRESS, attempts=member.attempts)
        return status.model_copy(update={"members": {**status.members, owner: waited}})

    def wait_for(
        self,
        message_id: object,
        state: DeliveryState | str,
        members: Iterable[str] | None,
        timeout: float,
    ) -> DeliveryStatus:
        """See :meth:`bus.Bus.wait_for`."""
        try:
            wanted = DeliveryState(state)
        except ValueError:
            choices = ", ".join(each.value for each in DeliveryState)
            raise InvalidArgument(f"no state {state!r}: one of {choices}", field="state") from None
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0:
            raise InvalidArgument(
                f"timeout must be a number >= 0, not {timeout!r}", field="timeout"
            )
        status = self.status(message_id)
        names = list(status.members) if members is None else list(members)
        unknown = sorted(set(names) - set(status.members))
        if unknown:
            raise InvalidArgument(
                f"not in the message's audience: {', '.join(unknown)}", members=unknown
            )
        deadline, pause = time.monotonic() + timeout, FIRST_POLL
        while not all(
            status.members[name].state == wanted or status.members[name].state in FINAL_STATES
            for name in names
        ):
            left = deadline - time.monotonic()
            if left <= 0:
                waiting = [name for name in names if status.members[name].state != wanted]
                raise BusTimeout(
                    f"{', '.join(waiting)} not {wanted.value} after {timeout} s",
                    message_id=str(status.message_id),
                    status=status,
                )
            time.sleep(min(pause, left))
            pause = min(pause * 2, LONGEST_POLL)
            status = self.status(message_id)
        return status

"""Copies of a message: refused by every consumer, whatever the copy's own fields say.

Whoever can write the store can append a second copy of a genuine, signed message to the
stream it was addressed to: it verifies (it *is* genuine) and carries the same id. The log's
message index keeps the first place each id was appended at (``LogStore.placed``, written in
the append's atomic step and kept as long as the index keeps the id: ``INDEX_FACTOR`` times
the stream's retention), so a consumer that finds a message anywhere else knows it for a copy
and refuses it: never handed over, its reader's position moves on, and the refusal is a dead
letter naming ``replayed`` (see :mod:`bus.deadletters.records`). The entry's place is its seq
(:attr:`bus.store.Entry.json`): a ``seq`` stored in its body cannot pass it off as the first.
"""

from __future__ import annotations

from bus.errors import AuthenticationFailed
from bus.message import Message
from bus.store import Entry, Store


def copy_refusal(store: Store, entry: Entry, message: Message) -> AuthenticationFailed | None:
    """The refusal of ``message`` (read as ``entry``) if it is a copy of one first appended
    elsewhere, else ``None``: from what the step that read the entry found in the index
    (:attr:`~bus.store.Entry.placed`, a worker's run on Redis), or one index lookup (one round
    trip on Redis) when it found nothing for this id (the body may have led with another)."""
    read, first = placed_with(entry, message)
    if not read:
        first = store.log.placed(str(message.id))
    return refusal_at(entry, message, first)


def placed_with(entry: Entry, message: Message) -> tuple[bool, tuple[str, int] | None]:
    """Whether the first place of ``message``'s id was read with ``entry`` (not: it was not
    read, or read for another id), and that place (``None``: not indexed). When it was not,
    :meth:`~bus.store.contracts.log.LogStore.placed` tells."""
    if entry.placed is None:
        return False, None
    read_id, _, where = entry.placed.partition(" ")
    if read_id != str(message.id):
        return False, None
    if not where:
        return True, None
    stream, seq = where.split(" ", 2)[:2]
    return True, (stream, int(seq))


def refusal_at(
    entry: Entry, message: Message, first: tuple[str, int] | None
) -> AuthenticationFailed | None:
    """The refusal of ``message`` (read as ``entry``) if ``first``, the place its id was first
    appended at (``None``: not indexed), is another: it is a copy."""
    if first is None or first == (entry.stream, entry.seq):
        return None
    stream, seq = first
    return AuthenticationFailed(
        f"message {message.id} at #{entry.seq} of {entry.stream} is a copy of #{seq} of "
        f"{stream}, where it was first appended: refused as a replay",
        reason="replayed",
        message_id=str(message.id),
        stream=entry.stream,
        seq=entry.seq,
        first_stream=stream,
        first_seq=seq,
    )

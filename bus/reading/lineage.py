"""``trace``: a message's causation tree, read from the store's causation index.

The log indexes each message by id and under its ``causation_id`` in the append's own atomic
step, and drops both with the entry when retention trims it, so what a trace shows is what the
store retains: no collector needed. The index only finds messages: the tree follows each
message's own ``causation_id`` (signed, with auth on). A reply handed straight to a requester
that was waiting for it is in no log: the reply box keeps it under its cause
(``ReplyStore.answers``), and the tree shows it there without a seq. Every message is let through
the guard as this process's identity before it is shown; one the guard refuses is left out, with
what it caused.
"""

from __future__ import annotations

from uuid import UUID

from bus.access.guard import Guard
from bus.channels import Stream
from bus.errors import AuthenticationFailed, PermissionDenied, UnknownMessage
from bus.message import Message
from bus.reading.status import message_id_of
from bus.store import Store, Traced
from bus.tracing.tree import Trace, TraceNode


def _cause_of(message: Message) -> str | None:
    return None if message.causation_id is None else str(message.causation_id)


class Lineage:
    """Reads causation trees from a store, through a guard."""

    def __init__(self, store: Store, guard: Guard) -> None:
        self._log = store.log
        self._replies = store.replies
        self._guard = guard

    def _shown(self, found: Traced) -> Message | None:
        message = Message.from_json(found.entry.json).model_copy(update={"seq": found.entry.seq})
        return self._admitted(message, Stream.parse(found.entry.stream))

    def _admitted(self, message: Message, stream: Stream) -> Message | None:
        try:
            self._guard.admit(message, stream)
        except (AuthenticationFailed, PermissionDenied):
            return None
        return message if self._guard.visible(message) else None

    def _answers(self, causes: list[str]) -> dict[str, Message]:
        """The replies kept under ``causes`` (handed to a waiting requester), by their id,
        each let through the guard as a direct message to its requester."""
        kept: dict[str, Message] = {}
        for bodies in self._replies.answers(causes).values():
            for body in bodies:
                reply = Message.from_json(body)
                assert reply.recipient is not None  # only a direct message answers a request
                if (shown := self._admitted(reply, Stream.of_inbox(reply.recipient))) is not None:
                    kept[str(reply.id)] = shown
        return kept

    def trace(self, message_id: UUID | str) -> Trace:
        """See :meth:`bus.Bus.trace`."""
        asked = message_id_of(message_id)
        message, stream = self._located(asked)
        self._guard.admit(message, stream)  # refused: the error
        if not self._guard.visible(message):  # a dead letter of what the reader may not read
            raise UnknownMessage(f"no message {asked} this reader may see", message_id=asked)
        node = self._descendants(message, asked)
        # Followed by the messages' own causation ids (signed with auth on), not the index's.
        seen, cause, trimmed = {asked}, _cause_of(message), None
        while cause is not None and cause not in seen:
            seen.add(cause)
            parent = self._log.find([cause]).get(cause)
            shown = None if parent is None else self._shown(parent)
            if shown is None:
                trimmed = UUID(cause)
                break
            node = TraceNode.of(shown, children=(node,))
            cause = _cause_of(shown)
        return Trace(message_id=UUID(asked), root=node, trimmed_cause=trimmed)

    def _located(self, asked: str) -> tuple[Message, Stream]:
        """The message ``asked`` and its stream: from the log, or a reply kept for its cause.

        Raises:
            UnknownMessage: neither knows the id.
        """
        found = self._log.find([asked]).get(asked)
        if found is not None:
            message = Message.from_json(found.entry.json)
            return message.model_copy(update={"seq": found.entry.seq}), Stream.parse(
                found.entry.stream
            )
        cause = self._replies.cause_of(asked)
        for body in self._replies.answers([cause]).get(cause, []) if cause is not None else []:
            reply = Message.from_json(body)
            if str(reply.id) == asked and reply.recipient is not None:
                return reply, Stream.of_inbox(reply.recipient)
        raise UnknownMessage(
            f"no retained message has the id {asked} (never published, or trimmed by retention)",
            message_id=asked,
        )

    def _descendants(self, message: Message, asked: str) -> TraceNode:
        """The node of ``message`` with everything retained that it caused, level by level
        (one store call for each level's children, one for their messages)."""
        messages: dict[str, Message] = {str(message.id): message}
        children: dict[str, list[str]] = {}
        level = [str(message.id)]
        while level:
            caused = self._log.caused(level)
            wanted = [child for ids in caused.values() for child in ids if child not in messages]
            found = self._log.find(wanted)
            shown = {key: self._shown(value) for key, value in found.items()}
            admitted = {key: value for key, value in shown.items() if value is not None}
            answers = {k: v for k, v in self._answers(level).items() if k not in messages}
            admitted.update(answers)
            messages.update(admitted)
            for reply_id, reply in answers.items():
                caused.setdefault(str(reply.causation_id), []).append(reply_id)
            for parent, ids in caused.items():
                # A child only under the cause it names itself (the index could say otherwise).
                kept = [
                    child
                    for child in ids
                    if child in admitted and _cause_of(admitted[child]) == parent
                ]
                children[parent] = sorted(
                    kept, key=lambda key: (admitted[key].timestamp, str(admitted[key].seq))
                )
            level = list(admitted)

        def build(key: str) -> TraceNode:
            below = tuple(build(child) for child in children.get(key, ()))
            return TraceNode.of(messages[key], asked=key == asked, children=below)

        return build(str(message.id))

"""What ``bus trace`` shows: a message, what it caused, and its ancestors up to the root."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from bus.message import Message


class TraceNode(BaseModel):
    """One retained message of a causation tree, and the retained messages it caused."""

    model_config = ConfigDict(frozen=True)

    message_id: UUID
    sender: str
    channel: str | None
    recipient: str | None
    #: Its place in its stream; ``None`` for a reply handed straight to the requester that was
    #: waiting for it (it is in no stream's log).
    seq: int | None
    time: datetime
    type: str
    hops: int
    #: Whether this is the message the trace was asked for.
    asked: bool = False
    #: What it caused, oldest first.
    children: tuple[TraceNode, ...] = ()

    @classmethod
    def of(
        cls, message: Message, *, asked: bool = False, children: tuple[TraceNode, ...] = ()
    ) -> TraceNode:
        """The node of a message read from the log, or of a reply kept for its cause (no
        seq)."""
        return cls(
            message_id=message.id,
            sender=message.sender,
            channel=message.channel,
            recipient=message.recipient,
            seq=message.seq,
            time=message.timestamp,
            type=str(message.type),
            hops=message.hops,
            asked=asked,
            children=children,
        )

    def to_json(self) -> dict[str, Any]:
        """``{"message_id", "sender", "channel" or "recipient", "seq", "time", "type", "hops",
        "children": [...]}``, recursively (``"asked": true`` on the message asked about;
        ``"seq": null`` for a reply handed straight to its waiting requester)."""
        node: dict[str, Any] = {"message_id": str(self.message_id), "sender": self.sender}
        if self.channel is not None:
            node["channel"] = self.channel
        else:
            node["recipient"] = self.recipient
        node.update(seq=self.seq, time=self.time.isoformat(), type=self.type, hops=self.hops)
        if self.asked:
            node["asked"] = True
        node["children"] = [child.to_json() for child in self.children]
        return node

    def walk(self, depth: int = 0) -> Iterator[tuple[int, TraceNode]]:
        """Every node of the tree with its depth, depth first, oldest child first."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)


class Trace(BaseModel):
    """The causation tree of a message: from its oldest retained ancestor (``root``), down the
    chain of ancestors to it, and everything it caused below it."""

    model_config = ConfigDict(frozen=True)

    #: The message asked about.
    message_id: UUID
    #: The oldest retained ancestor (the message itself when it has none).
    root: TraceNode
    #: The id of the root's own cause when that is no longer retained (trimmed by retention):
    #: the chain went on above what is shown.
    trimmed_cause: UUID | None = None

    def to_json(self) -> dict[str, Any]:
        """The root's :meth:`TraceNode.to_json`, with ``trimmed_cause`` when there is one."""
        tree = self.root.to_json()
        if self.trimmed_cause is not None:
            tree["trimmed_cause"] = str(self.trimmed_cause)
        return tree

"""The guard: what every path of the bus asks before it lets a message or an action through.

The publisher hands each outgoing message to :meth:`Guard.outgoing` (which may refuse it, stamp
it, charge a quota and sign it); every consumer (pull receive, worker runs, history) hands each
message it read to :meth:`Guard.admit` with the stream it was read from before it hands the
message over; the registry and readers ask :meth:`Guard.check` before an action on a stream.
With ``BUS_AUTH=off`` the guard is :class:`OpenGuard`, which lets everything through;
``bus.auth`` provides the one that enforces identities, signatures, permissions and quotas
(docs/security.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from bus.access.speaking import speaker
from bus.channels import Stream
from bus.errors import PermissionDenied
from bus.message import Message


def refuse_other_sender(sender: str) -> None:
    """Raise if the current call is one agent's bound-bus call and ``sender`` is another.

    Raises:
        PermissionDenied: naming the agent speaking (``identity``) and the ``sender`` asked for.
    """
    speaking = speaker()
    if speaking is not None and sender != speaking:
        raise PermissionDenied(
            f"agent {speaking!r} may not send as {sender!r}: a handler speaks only as its own "
            "agent",
            identity=speaking,
            action="publish",
            sender=sender,
        )


class Action(StrEnum):
    """What an identity may be allowed to do on a stream."""

    #: Post to a channel, or send to an agent's inbox.
    PUBLISH = "publish"
    #: Join a channel, read its history, receive from it (an inbox: its owner's).
    SUBSCRIBE = "subscribe"


class Guard:
    """Lets everything through; subclasses refuse what they must.

    Every method raises a :class:`~bus.errors.BusError` subclass to refuse
    (``PermissionDenied``, ``RateLimited``, ``AuthenticationFailed``) and changes nothing then.
    """

    #: The identity this process acts as (``None``: anyone, auth is off).
    identity: str | None = None

    def confine(self, agents: Iterable[str]) -> None:
        """Let the keys of ``agents`` (a worker's hosted agents) sign only inside their own
        agent's bound-bus calls (:mod:`bus.access.speaking`), never for the process at large."""

    def release(self) -> None:
        """Undo :meth:`confine` (the worker that confined them stops)."""

    def outgoing(self, message: Message) -> Message:
        """The message as it may be posted (stamped and signed), or raise.

        Raises:
            PermissionDenied: inside a call of one agent's bound bus, a message of another
                sender (naming both).
        """
        refuse_other_sender(message.sender)
        return message

    def check(
        self, action: Action, stream: Stream, *, agent: str | None = None, history: bool = False
    ) -> None:
        """Raise unless this process may do ``action`` on ``stream`` (for ``agent``: the agent
        subscribed, or whose inbox is read). ``history``: only to read its history, whose
        messages :meth:`visible` then filters (the sender of a direct message may read it)."""

    def visible(self, message: Message, *, agent: str | None = None) -> bool:
        """Whether the reader (``agent``, or this process) may see ``message``'s content: a
        direct message its sender, recipient and operators; a dead letter those who may read
        the message it carries, and operators. Everything, with auth off."""
        return True

    def admit(self, message: Message, stream: Stream, *, agent: str | None = None) -> None:
        """Raise unless ``message``, read from ``stream``, is genuine and may be handed over
        (to ``agent``: the agent it is read for; ``None``: this process's own identity)."""


class OpenGuard(Guard):
    """The guard of a bus with ``BUS_AUTH=off``: everything passes."""

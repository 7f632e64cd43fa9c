"""What kind of message it is: its type (a built-in :class:`MessageType` or a name of your own)
and its :class:`Priority`. Handlers route on both."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import PlainSerializer, PlainValidator

__all__ = ["CUSTOM_TYPE", "Kind", "MessageType", "Priority", "message_type"]


class MessageType(StrEnum):
    """What a message is for; handlers can be registered per type."""

    TASK_UPDATE = "task_update"
    QUESTION = "question"
    ANNOUNCEMENT = "announcement"
    REVIEW_REQUEST = "review_request"
    APPROVAL = "approval"
    DELEGATION = "delegation"
    STATUS_REPORT = "status_report"
    ESCALATION = "escalation"


#: What a custom message type looks like: lower case, starting with a letter, up to 64
#: characters of letters, digits, ``_``, ``.`` and ``-`` (``task``, ``result``, ``code.review``).
CUSTOM_TYPE = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


def message_type(value: object) -> MessageType | str:
    """``value`` as a message type: a built-in one as its :class:`MessageType`, any other
    name matching :data:`CUSTOM_TYPE` as the string itself.

    Raises:
        ValueError: neither (the message says what a type may be).
    """
    if isinstance(value, MessageType):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a message type is a string, not {type(value).__name__}")
    try:
        return MessageType(value)
    except ValueError:
        pass
    if CUSTOM_TYPE.fullmatch(value) is None:
        raise ValueError(
            f"{value!r} is not a message type: a built-in one "
            f"({', '.join(kind.value for kind in MessageType)}) or a custom one of 1-64 "
            "lower-case letters, digits, '_', '.' and '-', starting with a letter"
        )
    return value


#: A message type: a built-in :class:`MessageType` or a custom name (:func:`message_type`).
Kind = Annotated[
    MessageType | str, PlainValidator(message_type), PlainSerializer(str, return_type=str)
]


class Priority(StrEnum):
    """How urgent a message is. Compare with :attr:`rank`: ``low < normal < high < urgent``."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for urgent."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}

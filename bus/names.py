"""Channel and agent names: what is accepted, and how they become broker names.

Channel names are display names (``#engineering``, ``#``, ``a.#``). They never reach a broker as
they are: :func:`encode_channel` turns them into a reversible token of ``[A-Za-z0-9-_]`` so no
transport reads ``#`` or ``*`` as a wildcard and no two names collide. Agent names are identifiers
and are used as routing keys and queue-name suffixes directly.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from bus.errors import InvalidName

#: Longest channel name, in characters.
MAX_CHANNEL_LENGTH = 64
#: Longest encoded channel token: AMQP caps exchange names at 255 bytes, we keep room for prefixes.
MAX_ENCODED_CHANNEL_LENGTH = 200
#: Agent names: a letter or digit, then letters, digits, ``_``, ``-`` or ``.``; 64 at most.
AGENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: A person speaking on the bus (the console's ``human:<name>``): a sender, never a registered
#: agent, so it never names a queue or a routing key.
HUMAN_PREFIX = "human:"
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


def check_agent_name(name: object) -> str:
    """Return ``name`` if it is a valid agent name.

    Raises:
        InvalidName: it is not a string, is blank, or has characters outside ``AGENT_NAME``.
    """
    if not isinstance(name, str):
        raise InvalidName(f"agent name must be a string, not {type(name).__name__}", agent=name)
    if not AGENT_NAME.fullmatch(name):
        raise InvalidName(
            f"invalid agent name {name!r}: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit",
            agent=name,
        )
    return name


def check_sender_name(name: object) -> str:
    """Return ``name`` if it may send a message: an agent name, or ``human:`` and an agent name
    (a person using the console, who is no registered agent).

    Raises:
        InvalidName: as :func:`check_agent_name`.
    """
    if isinstance(name, str) and name.startswith(HUMAN_PREFIX):
        check_agent_name(name[len(HUMAN_PREFIX) :])
        return name
    return check_agent_name(name)


def check_channel_name(name: object) -> str:
    """Return ``name`` if it is a valid channel name.

    Any printable characters are accepted (``#``, ``*`` and ``.`` included); whitespace, control
    and unassigned characters are not, nor names whose broker token would be too long.

    Raises:
        InvalidName: with ``context['channel']`` and the reason in the message.
    """
    if not isinstance(name, str):
        raise InvalidName(f"channel name must be a string, not {type(name).__name__}", channel=name)
    problem = _channel_problem(name)
    if problem is not None:
        raise InvalidName(problem, channel=name)
    return name


@functools.lru_cache(maxsize=4096)
def _channel_problem(name: str) -> str | None:
    """What is wrong with ``name`` (cached: every message decoded checks its channel's name)."""
    if not name:
        return "channel name must not be empty"
    if len(name) > MAX_CHANNEL_LENGTH:
        return f"channel name is {len(name)} characters long, the limit is {MAX_CHANNEL_LENGTH}"
    for char in name:
        category = unicodedata.category(char)
        if char.isspace() or category[0] in "CZ":
            return (
                f"channel name {name!r} contains {char!r} ({category}): whitespace, control "
                "and unassigned characters cannot be carried by every transport"
            )
    if len(encode_channel(name)) > MAX_ENCODED_CHANNEL_LENGTH:
        return f"channel name {name!r} is too long once encoded"
    return None


def encode_channel(name: str) -> str:
    """Encode a channel name into a token safe for every broker: reversible, never a wildcard.

    Letters, digits and ``-`` stay; every other character becomes ``_`` and the hex of its UTF-8
    bytes (``#engineering`` -> ``_23engineering``), so ``_`` itself is always escaped.
    """
    return "".join(
        char if char in _PLAIN else "".join(f"_{byte:02x}" for byte in char.encode())
        for char in name
    )


def decode_channel(token: str) -> str:
    """Invert :func:`encode_channel`."""
    out = bytearray()
    index = 0
    while index < len(token):
        if token[index] == "_":
            out.append(int(token[index + 1 : index + 3], 16))
            index += 3
        else:
            out.extend(token[index].encode())
            index += 1
    return out.decode()

"""The Lua scripts of :class:`~bus.store.redis.RedisStore`, from ``bus/store/redis/lua/*.lua``.

Each store operation that must be atomic is one script, so it is also one round trip, and
concurrent publishers and consumers in many processes agree on one order. Each script's header
names its KEYS and ARGV; a script touches no key but those (see :mod:`bus.store.redis.key_names`).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

#: Scripts and the shared functions the loader puts before them (``lua/<name>.lua`` each).
PRELUDES: dict[str, tuple[str, ...]] = {
    "append": ("epoch", "trim_notes", "log_trim", "guards"),
    "charge": (),
    "fence": ("epoch",),
    "claim": ("epoch", "next_after"),
    "claim_any": ("epoch", "next_after", "log_trim", "push_receipt", "receipt_wanted"),
    "subscribe": (),
    "unsubscribe": (),
    "register_agent": (),
    "register_agents": (),
    "unregister_agent": (),
    "subscribe_many": (),
    "create_channel": (),
    "update_channel": (),
    "history": (),
    "entries": (),
    "begin": ("epoch", "next_after", "holder", "trim_notes", "step"),
    "advance": ("epoch", "next_after", "holder", "trim_notes", "step", "log_trim", "push_receipt"),
    "take": ("epoch", "next_after", "holder", "log_trim", "push_receipt", "receipt_wanted"),
    "renew_lease": (),
    "release_lease": (),
    "record_failure": ("trim_notes",),
    "note": ("trim_notes", "log_trim", "push_receipt"),
    "note_skipped": ("trim_notes", "log_trim", "push_receipt"),
    "member_facts": (),
    "backlog": (),
    "put_reply": ("guards",),
    "beat": (),
    "stopped": (),
}


def _read(name: str) -> str:
    return (files("bus.store.redis") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


@cache
def source(name: str) -> str:
    """The Lua source of script ``name``, its shared functions first.

    Raises:
        KeyError: there is no such script.
    """
    return "\n".join(_read(part) for part in (*PRELUDES[name], name))

"""The Redis store's Lua scripts (:mod:`bus.store.redis.scripts`): every file is used, and a
script touches only the keys it is given through KEYS (so it also runs on a Redis Cluster)."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from bus.store.redis.scripts import PRELUDES, source

LUA = files("bus.store.redis") / "lua"
#: ``redis.call('CMD', <first argument>``: for every command the scripts use, a key.
CALL = re.compile(r"redis\.call\('(\w+)',\s*([^,)]+)")
#: Parameters of the shared functions (next_after, holder.lua), which their callers give KEYS.
KEY_PARAMETERS = {
    "logkey",
    "epochkey",
    "lease_key",
    "alive_key",
    "noteskey",
    "trimmedkey",
    "indexedkey",
    "headskey",
    "locatedkey",
    "causedkey",
    "signalskey",
    "positions_key",
    "consumerskey",
}
#: Commands whose first argument is no key (``INFO replication``: whether the server is a
#: replica, epoch.lua).
KEYLESS = {"INFO"}


def test_every_lua_file_is_a_script_or_a_prelude_of_one() -> None:
    used = set(PRELUDES) | {part for parts in PRELUDES.values() for part in parts}
    assert {path.name for path in LUA.iterdir()} == {f"{name}.lua" for name in used}


@pytest.mark.parametrize("name", sorted(PRELUDES))
def test_a_script_touches_only_keys_passed_through_keys(name: str) -> None:
    text = source(name)
    calls = CALL.findall(text)
    assert calls, "a script that calls no Redis command is dead"
    built = [
        (command, key)
        for command, key in calls
        if not key.startswith("KEYS[") and key not in KEY_PARAMETERS and command not in KEYLESS
    ]
    assert built == []
    for argument in re.findall(r"next_after\(([^,]+),", text):
        assert argument.startswith("KEYS[") or argument in KEY_PARAMETERS


@pytest.mark.parametrize("name", sorted(PRELUDES))
def test_every_script_names_its_keys_and_arguments_in_its_header(name: str) -> None:
    header = (LUA / f"{name}.lua").read_text().split("\n\n")[0]
    assert "KEYS[1]" in header
    assert "ARGV" in header or name == "backlog"
    assert source(name).endswith((LUA / f"{name}.lua").read_text())

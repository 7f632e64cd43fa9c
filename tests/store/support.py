"""What the store contract tests share: sample channels and messages, and readers of entries."""

from __future__ import annotations

import json

from bus.channels import ChannelKind, ChannelSpec, Retention
from bus.store import Entry, Store, channel_stream

KEEP_ALL = Retention(max_messages=1000)
NEWS = channel_stream("#news")


def body(text: str) -> str:
    """A message's JSON as the bus appends it: encoded without ``seq``."""
    return json.dumps({"content": text})


def decoded(entry: Entry | None) -> dict[str, object]:
    """The message JSON of an entry (with its seq), decoded; checks the seq is the entry's."""
    assert entry is not None
    value: dict[str, object] = json.loads(entry.json)
    assert value["seq"] == entry.seq
    return value


def seqs(entries: list[Entry]) -> list[int]:
    return [decoded(entry)["seq"] for entry in entries]  # type: ignore[misc]


def contents(entries: list[Entry]) -> list[object]:
    return [decoded(entry)["content"] for entry in entries]


def append_many(
    store: Store, stream: str, count: int, *, start_ms: int = 1000, retention: Retention = KEEP_ALL
) -> None:
    """Append ``m1``, ``m2``, ... to ``stream``, one millisecond apart from ``start_ms``."""
    for index in range(count):
        store.log.append(stream, body(f"m{index + 1}"), start_ms + index, retention)


def topic(name: str = "#news") -> ChannelSpec:
    return ChannelSpec(name=name, kind=ChannelKind.TOPIC, retention=KEEP_ALL)


def broadcast(name: str = "#all") -> ChannelSpec:
    return ChannelSpec(name=name, kind=ChannelKind.BROADCAST, retention=KEEP_ALL)


def reader(store: Store, agent: str = "bob", *channels: str) -> None:
    """Register ``agent`` as a member of ``channels`` (each created as a topic)."""
    store.registry.register_agent(agent)
    for channel in channels:
        store.registry.create_channel(topic(channel))
        store.registry.subscribe(agent, channel)


def claim_any(store: Store, agent: str) -> Entry | None:
    """The entry :meth:`~bus.store.LogStore.claim_any` handed ``agent`` (``None``: nothing)."""
    batch = store.log.claim_any(agent)
    assert batch.held
    return batch.entries[0] if batch.entries else None

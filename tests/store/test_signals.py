"""Coalesced deliveries in the store: an append wakes a recipient only if no delivery of its
is outstanding on the stream; a consumer that finds the stream drained clears the signal."""

from __future__ import annotations

from bus.store import Store, direct_stream
from tests.store.support import KEEP_ALL, NEWS, body, reader

TTL = 10_000


def post(store: Store, stream: str = NEWS, text: str = "m") -> list[str]:
    """Append with coalescing; the recipients it wakes, sorted."""
    appended = store.log.append(stream, body(text), 1000, KEEP_ALL, coalesce=True)
    assert appended.woken is not None
    return sorted(appended.woken)


def test_a_recipient_is_woken_once_until_it_finds_the_stream_drained(store: Store) -> None:
    reader(store, "ann", "#news")
    reader(store, "bob", "#news")
    assert post(store) == ["ann", "bob"]
    assert post(store) == []  # both are signalled already
    assert store.log.claim("bob", NEWS) is not None
    assert store.log.claim("bob", NEWS) is not None
    assert post(store) == []  # bob read on but never found the stream drained
    assert store.log.claim("bob", NEWS) is not None
    assert store.log.claim("bob", NEWS) is None  # drained: his signal is cleared
    assert post(store) == ["bob"]


def test_without_coalescing_every_recipient_is_woken(store: Store) -> None:
    reader(store, "ann", "#news")
    appended = store.log.append(NEWS, body("m"), 1000, KEEP_ALL)
    assert appended.woken is None
    assert appended.to_wake == ["ann"]
    assert store.log.append(NEWS, body("m"), 1001, KEEP_ALL).to_wake == ["ann"]


def test_claim_any_take_and_runs_clear_the_signal_when_drained(store: Store) -> None:
    reader(store, "ann", "#news")
    post(store)
    assert store.log.claim_any("ann") is not None
    assert store.log.claim_any("ann") is None
    assert post(store) == ["ann"]
    assert store.leases.take("ann", NEWS, "r1", TTL, 0, 5).entries
    assert post(store) == []
    assert store.leases.take("ann", NEWS, "r1", TTL, 3, 5).entries == ()
    assert post(store) == ["ann"]
    step = store.leases.begin("ann", NEWS, "w1", TTL, 2**62)
    assert step.entry is not None
    assert store.leases.advance("ann", NEWS, "w1", TTL, step.entry.seq, 2**62).entry is None
    assert post(store) == ["ann"]


def test_a_lease_held_elsewhere_keeps_the_signal(store: Store) -> None:
    reader(store, "ann", "#news")
    post(store)
    store.leases.begin("ann", NEWS, "w1", TTL, 2**62)  # a worker's run holds the stream
    assert store.log.claim("ann", NEWS) is None
    assert store.log.claim_any("ann") is None
    assert post(store) == []  # the run drains it, and clears the signal then


def test_leaving_the_channel_clears_the_signal(store: Store) -> None:
    reader(store, "ann", "#news")
    post(store)
    store.registry.unsubscribe("ann", "#news")
    store.registry.subscribe("ann", "#news")
    assert post(store) == ["ann"]


def test_direct_messages_coalesce_per_inbox(store: Store) -> None:
    reader(store, "ann")
    inbox = direct_stream("ann")
    assert post(store, inbox) == ["ann"]
    assert post(store, inbox) == []
    assert store.log.claim("ann", inbox) is not None
    assert store.log.claim("ann", inbox) is not None
    assert store.log.claim("ann", inbox) is None
    assert post(store, inbox) == ["ann"]


def test_unsignal_lets_the_next_append_wake_again(store: Store) -> None:
    reader(store, "ann", "#news")
    reader(store, "bob", "#news")
    post(store)
    store.log.unsignal(NEWS, ["ann"])  # her delivery could not be published
    assert post(store) == ["ann"]
    store.log.unsignal(NEWS, [])

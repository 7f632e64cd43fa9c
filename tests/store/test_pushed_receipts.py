"""Pushed receipts in the store (issue 17): the advance step appends a receipt to the committed
message's sender's inbox, in the same step, only if the sender consumes receipts."""

from __future__ import annotations

import json

import pytest

from bus.errors import AgentOverloaded
from bus.store import Pushed, ReceiptDraft, Store, direct_stream
from bus.store.contracts.guards import Checks
from tests.store.support import KEEP_ALL, NEWS, body, decoded, reader

TTL = 10_000


def draft(text: str | None, *, sender: str = "ann", coalesce: bool = False) -> ReceiptDraft:
    return ReceiptDraft(
        sender, "bus", f"r-{text}", None if text is None else body(text), 2000, KEEP_ALL, coalesce
    )


def handled_first(store: Store, receipt: ReceiptDraft) -> Pushed | None:
    store.log.append(NEWS, body("m1"), 1000, KEEP_ALL, message_id="m1", sender="ann")
    store.log.append(NEWS, body("m2"), 1001, KEEP_ALL, message_id="m2", sender="ann")
    step = store.leases.begin("bob", NEWS, "t", TTL, 2**62)
    assert step.entry is not None
    assert step.entry.seq == 1
    return store.leases.advance("bob", NEWS, "t", TTL, 1, 2**62, receipt).pushed


def test_a_sender_that_consumes_no_receipts_gets_none(store: Store) -> None:
    reader(store, "bob", "#news")
    store.registry.register_agent("ann")
    assert handled_first(store, draft("handled")) == Pushed()
    assert store.log.history(direct_stream("ann")) == []
    assert store.receipts.consumers() == set()


def test_a_consumer_gets_its_receipt_in_its_inbox_in_the_commit_step(store: Store) -> None:
    reader(store, "bob", "#news")
    store.registry.register_agent("ann")
    store.receipts.consume("ann", True)
    assert store.receipts.consumers() == {"ann"}
    assert handled_first(store, draft("handled")) == Pushed(False, 1, True)
    [entry] = store.log.history(direct_stream("ann"))
    assert decoded(entry)["content"] == "handled"
    assert store.log.find("r-handled") is not None  # indexed like any message
    # The step read on as usual, and a commit that does not move pushes nothing again.
    again = store.leases.advance("bob", NEWS, "t", TTL, 1, 2**62, draft("again"))
    assert again.pushed == Pushed()
    assert again.entry is not None
    assert again.entry.seq == 2
    assert len(store.log.history(direct_stream("ann"))) == 1


def test_a_draft_without_its_receipt_moves_nothing_for_a_consumer(store: Store) -> None:
    reader(store, "bob", "#news")
    store.registry.register_agent("ann")
    store.receipts.consume("ann", True)
    assert handled_first(store, draft(None)) == Pushed(wanted=True)
    step = store.leases.begin("bob", NEWS, "t", TTL, 2**62)
    assert step.entry is not None
    assert step.entry.seq == 1  # not committed
    store.receipts.consume("ann", False)
    assert store.leases.advance("bob", NEWS, "t", TTL, 1, 2**62, draft(None)).pushed == Pushed()


def test_coalesced_receipts_wake_the_sender_once_until_it_drains(store: Store) -> None:
    reader(store, "bob", "#news")
    store.registry.register_agent("ann")
    store.receipts.consume("ann", True)
    assert handled_first(store, draft("one", coalesce=True)) == Pushed(False, 1, True)
    second = store.leases.advance("bob", NEWS, "t", TTL, 2, 2**62, draft("two", coalesce=True))
    assert second.pushed == Pushed(False, 2, False)


def test_a_hosted_consumer_is_woken_once_until_its_run_drains_its_inbox(store: Store) -> None:
    reader(store, "bob", "#news")
    store.registry.register_agent("ann")
    store.receipts.consume("ann", True, hosted=True)
    assert handled_first(store, draft("one")) == Pushed(False, 1, True)
    second = store.leases.advance("bob", NEWS, "t", TTL, 2, 2**62, draft("two"))
    assert second.pushed == Pushed(False, 2, False)
    inbox = direct_stream("ann")
    step = store.leases.begin("ann", inbox, "a", TTL, 2**62)
    step = store.leases.advance("ann", inbox, "a", TTL, 1, 2**62)
    assert step.entry is not None
    assert store.leases.advance("ann", inbox, "a", TTL, 2, 2**62).entry is None  # drained
    store.log.append(NEWS, body("m3"), 1002, KEEP_ALL, message_id="m3", sender="ann")
    store.leases.begin("bob", NEWS, "t", TTL, 2**62)
    third = store.leases.advance("bob", NEWS, "t", TTL, 3, 2**62, draft("three"))
    assert third.pushed == Pushed(False, 3, True)


def test_pushed_receipts_count_toward_the_consumer_s_pending_count(store: Store) -> None:
    # A receipt moves the consumer's inbox head up without an append: the guards' count (on
    # Redis, the unread bound it keeps) must see it.
    reader(store, "bob", "#news")
    store.registry.register_agent("ann")
    store.receipts.consume("ann", True)
    for number in (1, 2, 3):
        store.log.append(
            NEWS, body(f"m{number}"), 1000, KEEP_ALL, message_id=f"m{number}", sender="ann"
        )
    inbox, limit = direct_stream("ann"), Checks("cat", "ann", max_pending=3)
    assert store.log.append(inbox, body("dm"), 1000, KEEP_ALL, checks=limit).seq == 1
    assert store.leases.begin("bob", NEWS, "t", TTL, 2**62).entry is not None
    for seq in (1, 2):
        pushed = store.leases.advance("bob", NEWS, "t", TTL, seq, 2**62, draft(f"r{seq}")).pushed
        assert pushed is not None
        assert pushed.seq == seq + 1
    with pytest.raises(AgentOverloaded) as refused:  # a dm and two receipts unread
        store.log.append(inbox, body("dm"), 1000, KEEP_ALL, checks=limit)
    assert refused.value.pending == 3


def _from(sender: str, text: str) -> str:
    """A message's JSON with its sender, as the pull hand-over's step reads it."""
    return json.dumps({"id": f"{text}-id", "sender": sender, "content": text})


def test_a_pull_take_hands_a_consumers_message_over_only_with_its_receipt(store: Store) -> None:
    reader(store, "bob", "#news")
    store.registry.register_agent("ann")
    store.registry.register_agent("cat")
    store.receipts.consume("ann", True)
    for seq, (sender, text) in enumerate([("cat", "m1"), ("ann", "m2"), ("ann", "m3")], 1):
        store.log.append(NEWS, _from(sender, text), 1000 + seq, KEEP_ALL, sender=sender)
    # cat consumes none: handed over; the message after it is ann's, named to draft ahead.
    first = store.leases.take("bob", NEWS, "t", TTL, 0, 1)
    assert [entry.seq for entry in first.entries] == [1]
    assert first.ahead is not None
    assert (first.ahead.seq, first.ahead.wants_receipt) == (2, True)
    # Without its receipt, ann's message is not handed over (nothing moves) ...
    wanting = store.leases.take("bob", NEWS, "t", TTL, 1, 1)
    [entry] = wanting.entries
    assert (entry.seq, entry.wants_receipt) == (2, True)
    assert store.log.position("bob", NEWS) == 1
    # ... with it, the same step hands it over and appends the receipt, and names the next.
    receipt = draft("bob handled m2")._replace(of_seq=2)
    taken = store.leases.take("bob", NEWS, "t", TTL, 1, 1, receipt)
    assert [(entry.seq, entry.wants_receipt) for entry in taken.entries] == [(2, False)]
    assert taken.pushed == Pushed(False, 1, True)
    assert taken.ahead is not None
    assert taken.ahead.seq == 3
    assert store.log.position("bob", NEWS) == 2
    [pushed] = store.log.history(direct_stream("ann"))
    assert decoded(pushed)["content"] == "bob handled m2"
    # A draft for another seq is not used: the message it is not for wants its own.
    stale = store.leases.take("bob", NEWS, "t", TTL, 2, 1, receipt)
    assert [entry.wants_receipt for entry in stale.entries] == [True]
    assert len(store.log.history(direct_stream("ann"))) == 1


def test_a_claim_across_streams_hands_a_consumers_message_over_only_with_its_receipt(
    store: Store,
) -> None:
    reader(store, "bob", "#news")
    store.registry.register_agent("ann")
    store.receipts.consume("ann", True)
    inbox = direct_stream("bob")
    store.log.append(NEWS, _from("ann", "m1"), 1001, KEEP_ALL, sender="ann")
    store.log.append(inbox, _from("ann", "d1"), 1002, KEEP_ALL, sender="ann")
    store.log.append(NEWS, _from("ann", "m2"), 1003, KEEP_ALL, sender="ann")
    # The oldest is ann's: without its receipt nothing moves.
    [wanting] = store.log.claim_any("bob").entries
    assert (wanting.stream, wanting.seq, wanting.wants_receipt) == (NEWS, 1, True)
    assert store.log.position("bob", NEWS) == 0
    # A draft for another message (the inbox's) is ignored: the oldest still wants its own.
    other = draft("for d1")._replace(of_stream=inbox, of_seq=1)
    assert [e.wants_receipt for e in store.log.claim_any("bob", other).entries] == [True]
    assert store.log.history(direct_stream("ann")) == []
    # With its draft the step hands it over, appends the receipt and names the next of #news.
    claimed = store.log.claim_any("bob", draft("bob handled m1")._replace(of_stream=NEWS, of_seq=1))
    assert [(e.stream, e.seq, e.wants_receipt) for e in claimed.entries] == [(NEWS, 1, False)]
    assert claimed.pushed == Pushed(False, 1, True)
    assert claimed.ahead is not None
    assert (claimed.ahead.stream, claimed.ahead.seq) == (NEWS, 2)
    assert store.log.position("bob", NEWS) == 1
    [pushed] = store.log.history(direct_stream("ann"))
    assert decoded(pushed)["content"] == "bob handled m1"
    # An empty body: the reader pushes none (it could not sign one); the message goes on.
    unsigned = draft("x")._replace(body="", of_stream=inbox, of_seq=1)
    claimed = store.log.claim_any("bob", unsigned)
    assert [(e.stream, e.seq) for e in claimed.entries] == [(inbox, 1)]
    assert claimed.pushed == Pushed()
    assert claimed.ahead is None
    assert len(store.log.history(direct_stream("ann"))) == 1

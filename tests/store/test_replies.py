"""The replies part of the store contract: request/reply boxes, which expire."""

from __future__ import annotations

import threading
import time

import pytest

from bus.store import Store

TTL = 10_000
#: A box short enough to watch it expire.
SHORT_TTL = 100


def test_a_reply_from_the_responder_reaches_the_waiter(store: Store) -> None:
    store.replies.open_reply("c1", "bob", TTL)
    assert store.replies.put_reply("c1", "bob", '{"content": "hi"}').put is True
    assert store.replies.wait_reply("c1", 1.0) == '{"content": "hi"}'
    assert store.replies.wait_reply("c1", 0) is None  # taken


def test_a_reply_nobody_waits_for_is_refused(store: Store) -> None:
    assert store.replies.put_reply("c1", "bob", "{}").put is False
    assert store.replies.wait_reply("c1", 0) is None


def test_a_reply_from_another_sender_is_refused(store: Store) -> None:
    store.replies.open_reply("c1", "bob", TTL)
    assert store.replies.put_reply("c1", "mallory", "{}").put is False
    assert store.replies.wait_reply("c1", 0) is None


def test_replies_are_taken_in_the_order_they_came(store: Store) -> None:
    store.replies.open_reply("c1", "bob", TTL)
    store.replies.put_reply("c1", "bob", "1")
    store.replies.put_reply("c1", "bob", "2")
    assert [store.replies.wait_reply("c1", 0), store.replies.wait_reply("c1", 0)] == ["1", "2"]


def test_waiting_with_a_timeout_of_zero_does_not_block(store: Store) -> None:
    store.replies.open_reply("c1", "bob", TTL)
    assert store.replies.wait_reply("c1", 0) is None
    store.replies.put_reply("c1", "bob", "late")
    assert store.replies.wait_reply("c1", 0) == "late"


def test_waiting_ends_empty_when_no_reply_comes_in_time(store: Store) -> None:
    store.replies.open_reply("c1", "bob", TTL)
    assert store.replies.wait_reply("c1", 0.1) is None


def test_a_waiter_wakes_up_when_the_reply_arrives(store: Store) -> None:
    store.replies.open_reply("c1", "bob", TTL)
    got: list[str | None] = []
    waiter = threading.Thread(target=lambda: got.append(store.replies.wait_reply("c1", 10.0)))
    waiter.start()
    time.sleep(0.05)
    assert store.replies.put_reply("c1", "bob", "answer").put is True
    waiter.join(10.0)
    assert got == ["answer"]


def test_boxes_are_kept_apart_by_correlation_id(store: Store) -> None:
    store.replies.open_reply("c1", "bob", TTL)
    store.replies.open_reply("c2", "ann", TTL)
    assert store.replies.put_reply("c2", "bob", "wrong box").put is False
    store.replies.put_reply("c2", "ann", "for c2")
    assert store.replies.wait_reply("c1", 0) is None
    assert store.replies.wait_reply("c2", 0) == "for c2"


def test_a_closed_box_refuses_replies_and_drops_what_it_held(store: Store) -> None:
    store.replies.open_reply("c1", "bob", TTL)
    store.replies.put_reply("c1", "bob", "unread")
    store.replies.close_reply("c1")
    assert store.replies.wait_reply("c1", 0) is None
    assert store.replies.put_reply("c1", "bob", "too late").put is False
    store.replies.close_reply("never-opened")  # harmless


def test_an_open_box_expires_after_its_ttl(store: Store) -> None:
    store.replies.open_reply("c1", "bob", SHORT_TTL)
    time.sleep(3 * SHORT_TTL / 1000)
    assert store.replies.put_reply("c1", "bob", "too late").put is False
    assert store.replies.wait_reply("c1", 0) is None


def test_a_reply_that_arrived_outlives_the_box_it_came_through(store: Store) -> None:
    store.replies.open_reply("c1", "bob", SHORT_TTL)
    store.replies.put_reply("c1", "bob", "in time")
    time.sleep(3 * SHORT_TTL / 1000)
    assert store.replies.wait_reply("c1", 0) == "in time"


def test_destroy_forgets_open_boxes_and_their_replies(store: Store) -> None:
    store.replies.open_reply("c1", "bob", TTL)
    store.replies.put_reply("c1", "bob", "unread")
    store.replies.open_reply("c2", "bob", TTL)
    store.destroy()
    assert store.replies.wait_reply("c1", 0) is None
    assert store.replies.put_reply("c2", "bob", "{}").put is False


def test_replies_kept_for_trace_are_found_by_cause_and_by_id_and_bounded(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("bus.store.memory.replies", "bus.store.redis.replies"):
        monkeypatch.setattr(f"{module}.ANSWERS_KEPT", 3)
    store.replies.open_reply("c1", "bob", TTL)
    assert store.replies.put_reply("c1", "bob", '{"n": 1}', kept=("r1", "q1")).put
    assert store.replies.put_reply("c1", "bob", '{"n": 2}', kept=("r2", "q1")).put
    assert store.replies.put_reply("c1", "bob", '{"n": 3}', kept=("r3", "q2")).put
    assert store.replies.put_reply("c1", "bob", '{"n": 4}').put  # not kept: it names no cause
    assert store.replies.answers(["q1", "q2", "q3"]) == {
        "q1": ['{"n": 1}', '{"n": 2}'],
        "q2": ['{"n": 3}'],
        "q3": [],
    }
    assert (store.replies.cause_of("r2"), store.replies.cause_of("r9")) == ("q1", None)
    assert store.replies.put_reply("c1", "bob", '{"n": 5}', kept=("r5", "q3")).put  # over 3
    assert store.replies.answers(["q1", "q2", "q3"]) == {
        "q1": [],  # the oldest's cause goes, with what it kept
        "q2": ['{"n": 3}'],
        "q3": ['{"n": 5}'],
    }
    assert store.replies.cause_of("r1") is None
    assert store.replies.put_reply("c1", "mallory", "{}", kept=("r6", "q4")).put is False
    assert store.replies.answers(["q4"]) == {"q4": []}  # a refused reply is not kept

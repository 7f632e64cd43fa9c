"""A store writer's forgeries in a real log (memory and Redis) are refused as they are read,
while the genuine messages around them verify, in order.

This is the check every consumer will make once the read paths call :func:`verify`; here the
log is written the way the publisher writes it (JSON without ``seq``) and by a forger directly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bus.auth.certificates import Credentials
from bus.auth.signing import sign, verify
from bus.auth.trust import Trust
from bus.channels import Retention
from bus.errors import AuthenticationFailed
from bus.message import Message
from bus.store import Store, channel_stream
from bus.store.memory import MemoryStore
from bus.store.redis import RedisStore
from tests.auth.conftest import Issue
from tests.brokers import REDIS_URL, new_namespace

STREAM = channel_stream("#engineering")
KEEP = Retention(max_messages=100)


@pytest.fixture
def log_store(store_kind: str) -> Iterator[Store]:
    """A message store of the same kind as the auth store of the test."""
    store: Store
    store = MemoryStore() if store_kind == "memory" else RedisStore(REDIS_URL, new_namespace())
    try:
        yield store
    finally:
        store.destroy()
        store.close()


def append(store: Store, message: Message) -> None:
    store.log.append(STREAM, message.model_dump_json(exclude={"seq"}), 0, KEEP)


def post(sender: str, content: str) -> Message:
    return Message(channel="#engineering", sender=sender, content=content)


def test_forgeries_written_into_the_log_are_refused_and_genuine_messages_pass_in_order(
    log_store: Store, alice: Credentials, issue: Issue, trust: Trust
) -> None:
    mallory = issue("mallory")  # valid credentials of her own, and write access to the store
    genuine = sign(post("alice", "first"), alice)
    append(log_store, genuine)
    append(log_store, post("ceo", "unsigned: everyone gets a raise"))
    append(log_store, sign(post("mallory", "as ceo"), mallory).model_copy(update={"sender": "ceo"}))
    append(log_store, genuine.model_copy(update={"content": "first, edited after signing"}))
    direct = sign(Message(sender="alice", recipient="bob", content="moved here"), alice)
    append(log_store, direct)
    append(log_store, sign(post("alice", "second"), alice))

    handed_over, refused = [], []
    for stored in log_store.log.history(STREAM):
        message = Message.from_json(stored.json)
        try:
            verify(message, STREAM, trust)
        except AuthenticationFailed as exc:
            refused.append((message.seq, exc.reason))
        else:
            handed_over.append((message.seq, message.content))

    assert handed_over == [(1, "first"), (6, "second")]
    assert refused == [
        (2, "unsigned"),
        (3, "wrong_sender"),
        (4, "bad_signature"),
        (5, "wrong_stream"),
    ]

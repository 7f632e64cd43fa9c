"""Dispatcher: handlers by type and priority, failures isolated and reported."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bus import Bus, Dispatcher, InvalidArgument, Message, MessageType, Priority


def message(
    type: MessageType = MessageType.QUESTION, priority: Priority = Priority.NORMAL
) -> Message:
    return Message(
        channel="#engineering", sender="alice", content="hi", type=type, priority=priority
    )


def test_a_handler_runs_only_for_its_types() -> None:
    dispatcher = Dispatcher()
    seen: list[str] = []

    @dispatcher.on(MessageType.QUESTION, "escalation")
    def triage(msg: Message) -> None:
        seen.append(msg.type)

    assert dispatcher.dispatch(message(MessageType.QUESTION)).ran == [
        f"{__name__}.test_a_handler_runs_only_for_its_types.<locals>.triage"
    ]
    assert dispatcher.dispatch(message(MessageType.ESCALATION)).handled
    report = dispatcher.dispatch(message(MessageType.ANNOUNCEMENT))
    assert (report.ran, report.ok, report.handled) == ([], True, False)
    assert seen == ["question", "escalation"]


def test_a_handler_without_types_runs_for_every_type() -> None:
    dispatcher = Dispatcher()
    seen: list[MessageType] = []
    dispatcher.on()(lambda msg: seen.append(msg.type))
    for kind in MessageType:
        dispatcher.dispatch(message(kind))
    assert seen == list(MessageType)


@pytest.mark.parametrize(
    ("priority", "runs"),
    [
        (Priority.LOW, False),
        (Priority.NORMAL, False),
        (Priority.HIGH, True),
        (Priority.URGENT, True),
    ],
)
def test_min_priority_compares_by_rank(priority: Priority, runs: bool) -> None:
    dispatcher = Dispatcher()

    @dispatcher.on(min_priority="high")
    def pager(msg: Message) -> None:
        pass

    assert dispatcher.dispatch(message(priority=priority)).handled is runs


def test_matching_handlers_run_in_registration_order() -> None:
    dispatcher = Dispatcher()
    order: list[str] = []
    for name in ("first", "second", "third"):
        dispatcher.on(MessageType.QUESTION)(lambda msg, name=name: order.append(name))
    dispatcher.on(MessageType.APPROVAL)(lambda msg: order.append("never"))
    report = dispatcher.dispatch(message())
    assert order == ["first", "second", "third"]
    assert len(report.ran) == 3
    assert len(dispatcher.handlers_for(message())) == 3


def test_a_failing_handler_does_not_stop_the_others_and_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dispatcher = Dispatcher()
    after: list[str] = []

    @dispatcher.on()
    def broken(msg: Message) -> None:
        raise KeyError("missing")

    @dispatcher.on()
    def fine(msg: Message) -> None:
        after.append(msg.content)

    with caplog.at_level(logging.WARNING, logger="bus.dispatch"):
        report = dispatcher.dispatch(message())
    assert after == ["hi"]
    assert report.ok is False
    assert [name.rsplit(".", 1)[-1] for name in report.ran] == ["broken", "fine"]
    [(name, error)] = report.failed
    assert name.endswith("broken")
    assert isinstance(error, KeyError)
    assert "broken" in caplog.text


def test_an_invalid_type_or_an_unknown_priority_is_refused_at_registration() -> None:
    dispatcher = Dispatcher()
    with pytest.raises(InvalidArgument, match="'Gossip!' is not a message type"):
        dispatcher.on("Gossip!")
    with pytest.raises(InvalidArgument, match="unknown priority"):
        dispatcher.on(min_priority="whenever")


def test_the_decorator_returns_the_handler_unchanged() -> None:
    dispatcher = Dispatcher()

    def handler(msg: Message) -> str:
        return "handled"

    assert dispatcher.on()(handler) is handler


def test_dispatch_runs_an_async_handler_when_no_loop_is_running() -> None:
    dispatcher = Dispatcher()
    seen: list[str] = []

    @dispatcher.on()
    async def later(msg: Message) -> None:
        await asyncio.sleep(0)
        seen.append(msg.content)

    @dispatcher.on()
    async def broken(msg: Message) -> None:
        raise RuntimeError("async failure")

    report = dispatcher.dispatch(message())
    assert seen == ["hi"]
    assert [type(error) for _, error in report.failed] == [RuntimeError]


def test_dispatch_inside_a_running_loop_refuses_async_handlers_and_runs_none() -> None:
    dispatcher = Dispatcher()
    seen: list[str] = []
    dispatcher.on()(lambda msg: seen.append("sync"))

    @dispatcher.on()
    async def later(msg: Message) -> None:
        seen.append("async")

    async def main() -> None:
        with pytest.raises(InvalidArgument, match="adispatch"):
            dispatcher.dispatch(message())

    asyncio.run(main())
    assert seen == []


def test_adispatch_awaits_async_handlers_in_order_and_isolates_failures() -> None:
    dispatcher = Dispatcher()
    order: list[str] = []

    @dispatcher.on()
    async def slow(msg: Message) -> None:
        await asyncio.sleep(0.01)
        order.append("slow")

    @dispatcher.on()
    def quick(msg: Message) -> None:
        order.append("quick")

    @dispatcher.on()
    async def broken(msg: Message) -> None:
        raise ValueError("nope")

    @dispatcher.on()
    async def last(msg: Message) -> None:
        order.append("last")

    report = asyncio.run(dispatcher.adispatch(message()))
    assert order == ["slow", "quick", "last"]
    assert len(report.ran) == 4
    assert [name.rsplit(".", 1)[-1] for name, _ in report.failed] == ["broken"]
    assert not report.ok


def test_a_cancelled_adispatch_is_not_reported_as_a_handler_failure() -> None:
    dispatcher = Dispatcher()

    @dispatcher.on()
    async def forever(msg: Message) -> None:
        await asyncio.sleep(60)

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(dispatcher.adispatch(message()), 0.05)

    asyncio.run(main())


def test_received_messages_are_dispatched_by_type(bus: Bus) -> None:
    alice = bus.agent("alice")
    bob = bus.agent("bob", channels=["#incidents"])
    dispatcher = Dispatcher()
    handled: list[tuple[str, str]] = []

    @dispatcher.on(MessageType.ESCALATION, min_priority=Priority.HIGH)
    def page(msg: Message) -> None:
        handled.append(("page", msg.content))

    @dispatcher.on(MessageType.QUESTION)
    def answer(msg: Message) -> None:
        bob.reply(msg, f"re: {msg.content}")

    alice.publish("#incidents", "db down", type="escalation", priority="urgent")
    alice.publish("#incidents", "disk 80%", type="escalation", priority="low")
    alice.send("bob", "status?")
    reports = []
    for _ in range(3):
        received = bob.receive(timeout=5)
        assert received is not None
        reports.append(dispatcher.dispatch(received))
    assert all(report.ok for report in reports)
    assert sum(report.handled for report in reports) == 2
    assert handled == [("page", "db down")]
    reply = alice.receive(timeout=5)
    assert reply is not None
    assert reply.content == "re: status?"


def test_a_custom_type_routes_like_a_built_in_one() -> None:
    dispatcher = Dispatcher()
    seen: list[str] = []

    @dispatcher.on("task", "result.final")
    def work(msg: Message) -> None:
        seen.append(msg.content)

    for kind in ("task", "result.final", "question"):
        dispatcher.dispatch(
            Message(channel="#engineering", sender="alice", content=kind, type=kind)
        )

    assert seen == ["task", "result.final"]


def test_an_ignored_senders_channel_posts_match_no_handler_but_its_direct_messages_do() -> None:
    dispatcher = Dispatcher(ignore_from="alice")
    seen: list[Message] = []
    dispatcher.on()(seen.append)

    own_post = dispatcher.dispatch(message())
    other_post = dispatcher.dispatch(message().model_copy(update={"sender": "bob"}))
    direct = dispatcher.dispatch(Message(recipient="alice", sender="alice", content="note"))

    assert (own_post.handled, other_post.handled, direct.handled) == (False, True, True)
    assert [m.sender for m in seen] == ["bob", "alice"]

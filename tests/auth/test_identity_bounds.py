"""An agent cannot step outside its identity (issue 23, item 5), with real workers on Redis and
RabbitMQ and an embedded one on memory: a handler cannot publish as another agent its worker
hosts, whatever it reaches, and a genuine message copied into its own stream is handed over
once; the copy is refused as ``replayed``."""

from __future__ import annotations

import time

from bus.broker.wire import Delivery
from bus.channels import Retention, Stream
from tests.auth.deploy import inject
from tests.auth.hosting import AGENTS, Hosted
from tests.auth.hosting import done_is as _done_is
from tests.worker.harness import wait_for


def _tried(hosted: Hosted) -> dict[str, str]:
    found = [fields for fields in hosted.records() if fields[0] == "tried"]
    return {f"{fields[1]} {fields[2]}": fields[3] for fields in found}


def test_a_handler_stays_inside_its_identity_and_a_copied_message_is_handed_over_once(
    hosted: Hosted,
) -> None:
    # One worker for both (a worker costs seconds to start): first the handler ...
    _a_handler_cannot_publish_as_another_hosted_agent_by_any_path_it_reaches(hosted)
    # ... then the copies (the first phase left #engineering at seq 1).
    _a_genuine_message_copied_into_its_stream_is_handed_over_once(hosted, after=1)


def _a_handler_cannot_publish_as_another_hosted_agent_by_any_path_it_reaches(
    hosted: Hosted,
) -> None:
    tester, ops = hosted.tester, hosted.ops
    tester.send("rec-a", "impersonate", sender="tester")
    wait_for(lambda: len(_tried(hosted)) >= 14, 30, "rec-a's attempts")
    tried = _tried(hosted)
    assert tried == {
        "rec-a ctx.publish": "InvalidArgument",
        **{
            f"rec-a {path}": "PermissionDenied"
            for path in (
                "ctx.bus.publish",
                "ctx.bus.send",
                "ctx.bus.request",
                "ctx.bus.post",
                "worker_bus.publish",
                "worker_bus.send",
                "worker_bus.in_thread",
                "publisher.post",
                "guard.outgoing",
                "sign.with_held_key",
                "sign.in_thread",
                "sign.with_loaded_key",
                "new_bus.publish",
            )
        },
    }
    # What it may do, it does: its own message, signed with its own key.
    wait_for(lambda: any(m.sender == "rec-a" for m in ops.history("#engineering")), 30, "its own")
    engineering = ops.history("#engineering")
    assert [m.content for m in engineering] == ["rec-a speaks as itself"]
    assert engineering[0].signature is not None
    assert engineering[0].signature.key_id == hosted.deployment.credentials["rec-a"].identity.key_id
    assert [m.content for m in ops.direct_history("rec-a")] == ["impersonate"]


def _a_genuine_message_copied_into_its_stream_is_handed_over_once(
    hosted: Hosted, after: int
) -> None:
    tester, ops, deployment = hosted.tester, hosted.ops, hosted.deployment
    puller = deployment.bus_as("puller")
    puller.register_agent("puller", channels=["#engineering"])
    first = tester.publish("#engineering", "pay 10", sender="tester")
    one, copies, last_seq = after + 1, [after + 2, after + 3, after + 4], after + 5
    stream = Stream.of_channel("#engineering").id
    inject(ops, first)  # a copy appended as it was signed
    # A copy whose stored body says it sits at the first one's place.
    body = first.model_dump_json()
    assert f'"seq":{one}' in body
    ops.store.log.append(stream, body, int(time.time() * 1000), Retention())
    # A copy appended the way the bus appends, with its id indexed.
    copy_body = first.model_dump_json(exclude={"seq"})
    now = int(time.time() * 1000)
    ops.store.log.append(stream, copy_body, now, Retention(), message_id=str(first.id))
    # Each copy also gets a delivery, as a broker writer would send.
    ops.broker.publish([Delivery("rec-a", "#engineering", seq, str(first.id)) for seq in copies])
    assert tester.publish("#engineering", "five", sender="tester").seq == last_seq

    # rec-b also handled what rec-a posted before (seq 1); an agent skips its own posts.
    handled = {"rec-a": [one, last_seq], "rec-b": [*range(1, after + 1), one, last_seq]}
    for agent in AGENTS:
        wait_for(_done_is(hosted, agent, handled[agent]), 30, f"{agent}'s handlers")
    pulled = [puller.receive("puller", timeout=10) for _ in range(2)]
    assert [(m.seq, m.content) for m in pulled if m is not None] == [
        (one, "pay 10"),
        (last_seq, "five"),
    ]
    assert puller.receive("puller", timeout=0) is None
    for agent in AGENTS:
        started = sorted(set(hosted.started(agent, "#engineering")))
        assert started == handled[agent]  # no copy ever reached a handler

    def refused() -> set[tuple[str, int]]:
        return {
            (letter.agent, letter.seq)
            for letter in hosted.letters()
            if letter.error.startswith("refused (replayed)")
        }

    wanted = {(agent, seq) for agent in (*AGENTS, "puller") for seq in copies}
    wait_for(lambda: wanted <= refused(), 30, "the copies' dead letters")
    assert refused() == wanted
    letter = next(item for item in hosted.letters() if item.error.startswith("refused (replayed"))
    assert f"copy of #{one} of c:#engineering" in letter.error
    # The receipt of the message stays the first one's.
    assert ops.status(first.id).seq == one

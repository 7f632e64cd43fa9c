"""What each ``bus`` subcommand does. Each takes the parsed arguments and the settings and
returns the exit code; errors are raised (as :class:`bus.BusError`) and reported by
:func:`bus.cli.main`."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bus.broker.celery_app import create_app
from bus.cli.output import (
    describe_fence,
    emit_json,
    show_agents,
    show_dead_letters,
    show_messages,
)
from bus.cli.stopping import stopped_by_signals
from bus.cli.suggestions import with_suggestion
from bus.core import Bus
from bus.deadletters.operations import list_dead_letters, replay
from bus.errors import UnknownAgent, UnknownChannel
from bus.message import Message
from bus.servers.probes import CONNECT_TIMEOUT, check_store, probe_all, recorded_fences
from bus.settings import BusSettings

#: Seconds between two looks at a channel's history in ``bus tail``.
TAIL_INTERVAL = 0.2


@contextmanager
def connected(settings: BusSettings) -> Iterator[Bus]:
    """A started bus whose connections give up quickly when a server is down; an unknown
    channel or agent named in its block is reported with the names that look like it.

    Raises:
        StoreUnavailable, BrokerUnavailable: naming the URL tried.
    """
    check_store(settings)  # the store client has no connect timeout of its own
    app = create_app(settings)
    app.conf.broker_connection_timeout = CONNECT_TIMEOUT
    with Bus(settings, app=app) as bus:
        try:
            yield bus
        except (UnknownChannel, UnknownAgent) as exc:
            raise with_suggestion(exc, bus) from None


def history(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus history CHANNEL``: retained messages, oldest first."""
    with connected(settings) as bus:
        messages = bus.history(args.channel, limit=args.limit, after=args.after, since=args.since)
    show_messages(messages, args.json)
    return 0


def tail(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus tail CHANNEL...``: print messages as they are stored until interrupted (exit 0)
    or until ``--count`` messages were printed."""
    printed = 0
    try:
        with stopped_by_signals(), connected(settings) as bus:
            after = {
                channel: args.after if args.after is not None else bus.get_channel(channel).last_seq
                for channel in args.channels
            }
            while True:
                fresh: list[Message] = []
                for channel, seq in after.items():
                    messages = bus.history(channel, after=seq)
                    if messages:
                        after[channel] = messages[-1].seq or seq
                    fresh.extend(messages)
                fresh.sort(key=lambda message: message.timestamp)
                if args.count is not None:
                    fresh = fresh[: args.count - printed]
                printed += show_messages(fresh, args.json)
                if args.count is not None and printed >= args.count:
                    return 0
                time.sleep(TAIL_INTERVAL)
    except KeyboardInterrupt:
        return 0


def register(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus register AGENT... [--channel CHANNEL]... [--[no-]receipts]``: one batch for all
    of them."""
    with connected(settings) as bus:
        bus.register_agents(dict.fromkeys(args.agent_names, args.channel_names))
        if args.receipts is not None:  # pushed receipts: the flag the commit step reads
            for name in args.agent_names:
                bus.register_agent(name, receipts=args.receipts)
        found = {name: bus.subscriptions(name) for name in args.agent_names}
    show_agents(found, args.json)
    return 0


def dlq_list(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus dlq list``."""
    with connected(settings) as bus:
        letters = list_dead_letters(bus, limit=args.limit)
    show_dead_letters(letters, args.json)
    return 0


def dlq_replay(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus dlq replay SEQ``: hand a dead letter to its agent again."""
    with connected(settings) as bus:
        letter = replay(bus, args.dead_letter_seq)
    if args.json:
        emit_json(letter)
    else:
        print(
            f"replayed dead letter #{letter.dead_letter_seq}: {letter.agent} gets "
            f"{letter.channel or 'DM'} #{letter.seq} again"
        )
    return 0


def demo(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus demo``: the demo company's story (bus.demo); its exit code."""
    from bus.demo.transcript import run_demo

    check_store(settings)
    return run_demo(settings, timeout=args.timeout)


def fake_llm(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus fake-llm``: serve the local fake LLM (bus.fake_llm) until interrupted."""
    from bus.demo.fake_llm.__main__ import serve

    return serve(args)


def health(args: argparse.Namespace, settings: BusSettings) -> int:
    """``bus health``: 0 only if broker and store both answer. Also lists the messages a
    store failover lost after they were acknowledged (fences), which do not change the code."""
    probes = probe_all(settings)
    healthy = all(probe.ok for probe in probes)
    fences = recorded_fences(settings) if probes[-1].ok else []
    if args.json:
        emit_json(
            {
                "ok": healthy,
                "lost_in_failover": [
                    {"stream": f.stream, "first": f.first, "last": f.last, "at_ms": f.at_ms}
                    | {"by": f.by}
                    for f in fences
                ],
                **{
                    probe.service: {
                        "url": probe.url,
                        "ok": probe.ok,
                        "error": probe.error,
                        "ms": round(probe.millis, 1),
                    }
                    for probe in probes
                },
            }
        )
    else:
        width = max(len(probe.url) for probe in probes)
        for probe in probes:
            state = "ok" if probe.ok else f"UNREACHABLE: {probe.error}"
            print(f"{probe.service:<7} {probe.url:<{width}}  {state} ({probe.millis:.0f} ms)")
        for fence in fences:
            print(f"LOST    {describe_fence(fence)}")
    return 0 if healthy else 1

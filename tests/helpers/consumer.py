"""Receive ``COUNT`` messages of ``CHANNEL`` for ``AGENT``, report them, then hang until killed.

Usage: ``python -m tests.helpers.consumer AGENT CHANNEL COUNT``, with the bus described by the
``BUS_*`` environment. Prints ``<seq> <message id>`` for each message as soon as it is received
(flushed, so a parent that kills this process knows exactly what it got). Then it takes every
further delivery the broker hands its consumer without acknowledging any, prints ``holding <n>``
and sleeps: those ``n`` deliveries stay unacknowledged, in flight, until the process is killed.
"""

from __future__ import annotations

import sys
import time

from bus import Bus, BusSettings


def main(agent: str, channel: str, count: int) -> None:
    bus = Bus(BusSettings()).start()
    for _ in range(count):
        message = bus.receive(agent, channel=channel, timeout=30)
        if message is None:
            print("timeout", flush=True)
            return
        print(message.seq, message.id, flush=True)
    # Reaching into the inbox is the only way to hold deliveries without claiming their messages.
    inbox = bus.inboxes.get(agent)
    held = 0
    while inbox.next(0.5) is not None:
        held += 1
    print("holding", held, flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))

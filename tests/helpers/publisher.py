"""Publish ``COUNT`` messages to ``CHANNEL`` as ``SENDER``, from a process of its own.

Usage: ``python -m tests.helpers.publisher CHANNEL SENDER COUNT``, with the bus described by the
``BUS_*`` environment (:func:`bus.testing.environment_for`). Prints ``ready`` once connected,
waits for a line on stdin (so several publishers start at the same instant), publishes messages
whose content is ``SENDER:<i>``, prints ``done`` and exits.
"""

from __future__ import annotations

import sys

from bus import Bus, BusSettings


def main(channel: str, sender: str, count: int) -> None:
    with Bus(BusSettings()) as bus:
        print("ready", flush=True)
        sys.stdin.readline()
        for index in range(count):
            bus.publish(channel, f"{sender}:{index}", sender=sender)
        print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))

"""A recorder agent on a channel the test creates (``#rd``), not a default channel.

After a store reset a default channel comes back when a bus starts; ``#rd`` does not, which is
what issue 10 saw crash-loop a worker. Records as tests/helpers/recorder_agents.py does.
"""

from __future__ import annotations

import os

from bus.message import Message
from bus.worker import Agent, Context
from tests.helpers.recorder_agents import record

#: The channel the test creates before the worker starts.
CHANNEL = "#rd"

agent = Agent("rec-rd", channels=[CHANNEL])


@agent.on()
def handle(message: Message, ctx: Context) -> None:
    """Record the run (start and done), as the recorder agents do."""
    record(f"start {ctx.agent} {message.channel} {message.seq} {ctx.attempt} {os.getpid()}")
    record(f"done {ctx.agent} {message.channel} {message.seq} {ctx.attempt} {os.getpid()}")

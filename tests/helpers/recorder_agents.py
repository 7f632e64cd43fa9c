"""Agents for the worker tests: they record every handler run where the test can read it.

Records go to the Redis list ``<namespace>:test:runs`` when ``BUS_TEST_RECORD_URL`` is set
(worker subprocesses), else to :data:`RUNS` in this process (embedded workers). Each record is
``"<phase> <agent> <channel|DM> <seq> <attempt> <pid>"`` with phase ``start`` or ``done``.

Message content steers the handler: ``sleep:<seconds>`` sleeps, ``fail`` always raises,
``flaky`` raises on the first attempt only, ``impersonate`` tries every way the handler reaches
to publish as the other agent (``tried <agent> <path> <outcome>`` records).
"""

from __future__ import annotations

import os
import threading
import time

from bus.message import Message
from bus.worker import AgentRegistry, Context
from tests.helpers import impersonation

RUNS: list[str] = []
_lock = threading.Lock()
_redis = None


def record(line: str) -> None:
    """Append one record where the test reads them."""
    global _redis
    url = os.environ.get("BUS_TEST_RECORD_URL")
    if url is None:
        with _lock:
            RUNS.append(line)
        return
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(url)
    _redis.rpush(f"{os.environ['BUS_NAMESPACE']}:test:runs", line)


def _handle(message: Message, ctx: Context) -> str | None:
    where = message.channel or "DM"
    record(f"start {ctx.agent} {where} {message.seq} {ctx.attempt} {os.getpid()}")
    content = message.content
    if content == "impersonate":
        other = "rec-b" if ctx.agent == "rec-a" else "rec-a"
        for path, outcome in impersonation.attempts(ctx, other).items():
            record(f"tried {ctx.agent} {path} {outcome}")
        ctx.publish("#engineering", f"{ctx.agent} speaks as itself")
    if content.startswith("sleep:"):
        time.sleep(float(content.split(":", 1)[1]))
    if content == "fail" or (content == "flaky" and ctx.attempt == 1):
        raise RuntimeError(f"{ctx.agent} refuses {content!r}")
    record(f"done {ctx.agent} {where} {message.seq} {ctx.attempt} {os.getpid()}")
    if message.is_direct and message.correlation_id:
        return f"{ctx.agent} got {content}"
    return None


#: The module's agents (defined in a loop, so kept in a registry that load_agents finds).
AGENTS = AgentRegistry()
for _name in ("rec-a", "rec-b"):
    _agent = AGENTS.agent(_name, channels=["#engineering"])
    _agent.on()(_handle)
    _agent.on_direct()(_handle)

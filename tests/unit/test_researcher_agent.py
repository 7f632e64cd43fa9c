"""workers/researcher.py, the example LLM agent: its declaration, and its handler asking the
fake LLM through the client its startup hook opened (with a stand-in for the runtime's ctx:
``state`` and an awaitable ``publish``, the two things the handler uses).

The module uses the runtime's lifecycle hooks (issue 9); until the worker runtime provides
them, these tests are skipped rather than run against an API that is not there.
"""

from __future__ import annotations

import asyncio
import importlib
from types import SimpleNamespace
from typing import Any

import pytest

from bus.demo.fake_llm import FakeLLM
from bus.message import Message
from bus.worker import Agent, load_agents

pytestmark = pytest.mark.skipif(
    not hasattr(Agent, "on_startup"),
    reason="workers.researcher needs Agent.on_startup/on_shutdown (the issue 9 runtime)",
)


class _Ctx:
    """The part of a handler's ctx the researcher uses: what startup made, and publish."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.published: list[tuple[str, str, dict[str, Any]]] = []

    async def publish(self, channel: str, content: str, **fields: Any) -> None:
        self.published.append((channel, content, fields))


def test_the_researcher_module_defines_its_agent() -> None:
    agents = load_agents(["workers.researcher"])
    assert list(agents) == ["researcher"]
    assert agents["researcher"].channels == ("#engineering",)
    question = Message(channel="#engineering", sender="bob", type="question", content="why?")
    assert agents["researcher"].handlers_for(question)


def test_the_researcher_answers_a_question_through_its_shared_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeLLM(latency=0.01) as llm:
        monkeypatch.setenv("LLM_BASE_URL", llm.url)
        researcher = importlib.import_module("workers.researcher")
        questions = [
            Message(channel="#engineering", sender="bob", type="question", content=f"q{i}?")
            for i in range(5)
        ]

        async def lifetime() -> _Ctx:
            ctx = _Ctx(SimpleNamespace())
            await researcher.open_client(ctx.state)
            try:  # one client, one loop, every message: what the runtime guarantees
                await asyncio.gather(*(researcher.answer(q, ctx) for q in questions))
            finally:
                await researcher.close_client(ctx.state)
            return ctx

        ctx = asyncio.run(lifetime())
        assert llm.stats().requests == 5
    assert sorted(content.split(") ", 1)[1] for _, content, _ in ctx.published) == [
        f"q{i}?" for i in range(5)
    ]
    assert {channel for channel, _, _ in ctx.published} == {"#engineering"}
    assert ctx.state.llm.is_closed

"""Agents that use the real OpenAI and Anthropic SDKs, hosted by an embedded worker on memory://
against the fake LLM: the README's two examples, run as the README prints them, and the
arithmetic of docs/operations.md ("SDK retries and timeouts") counted on the fake's side."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import openai
import pytest

from bus import Bus
from bus.broker.celery_app import create_app
from bus.deadletters.operations import list_dead_letters
from bus.demo.fake_llm import FakeLLM
from bus.message import Message
from bus.settings import BusSettings
from bus.testing import join
from bus.worker import Agent, Context, EmbeddedWorker, install, load_agents
from tests.brokers import settings_for
from tests.worker.harness import FAST, wait_for

pytestmark = pytest.mark.memory

ROOT = Path(__file__).resolve().parents[2]
SECTION = "### Agents that use the OpenAI or Anthropic SDK"
QUESTION = "What p99 should an agent bus aim for?"


def readme_examples() -> list[str]:
    """The Python blocks of the README's SDK section, in order (OpenAI, then Anthropic)."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(SECTION) :]
    section = section[: section.index("\n## ")]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


@pytest.fixture
def llm_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    """The fake LLM, and the SDKs' variables pointing at it as the README says."""
    with FakeLLM(latency=0.01) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{llm.url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "fake")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", llm.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "fake")
        yield llm


def host(settings: BusSettings, agents: Mapping[str, Agent]) -> tuple[Any, Bus]:
    app = create_app(settings)
    install(app, settings, agents)
    return app, Bus(settings, app=app)


def test_the_readme_sdk_agents_answer_through_the_fake_llm(
    llm_environment: FakeLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = readme_examples()
    assert len(examples) == 2
    assert "AsyncOpenAI(" in examples[0]
    assert "AsyncAnthropic(" in examples[1]
    for name, code in zip(("readme_openai_agent", "readme_anthropic_agent"), examples, strict=True):
        (tmp_path / f"{name}.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    agents = load_agents(["readme_openai_agent", "readme_anthropic_agent"])
    assert sorted(agents) == ["analyst", "critic"]
    settings = settings_for("memory", **FAST)
    app, bus = host(settings, agents)
    with bus, EmbeddedWorker(app, concurrency=4):
        wait_for(lambda: "#engineering" in bus.subscriptions("critic"), 10, "registration")
        bus.publish("#engineering", QUESTION, sender="bob", type="question")
        join(bus, "analyst", 30)
        join(bus, "critic", 30)
        answers = {
            m.sender: m.content for m in bus.history("#engineering") if m.type == "status_report"
        }
        assert list_dead_letters(bus) == []
        bus.destroy()
    expected = f"(fake answer after 0.010 s) {QUESTION}"
    assert answers == {"analyst": expected, "critic": expected}
    stats = llm_environment.stats()
    assert (stats.requests, stats.streams) == (2, 1)  # the critic streamed its answer


SDK_RETRIES: dict[str, int] = {}
failing = Agent("failing-llm", channels=["#engineering"], timeout=30)


@failing.on_startup
async def open_failing_client(state: Any) -> None:
    # Every call is answered 503 after the latency, as an overloaded API does.
    state.openai = openai.AsyncOpenAI(
        max_retries=SDK_RETRIES["max_retries"], timeout=10, default_query={"status": "503"}
    )


@failing.on_shutdown
async def close_failing_client(state: Any) -> None:
    await state.openai.close()


@failing.on("question")
async def ask_and_fail(message: Message, ctx: Context) -> None:
    await ctx.state.openai.chat.completions.create(
        model="fake-1", messages=[{"role": "user", "content": message.content}]
    )


@pytest.mark.parametrize(
    ("bus_retries", "sdk_retries"), [(1, 1), (2, 2)], ids=["recommended", "sdk-default"]
)
def test_sdk_retries_multiply_with_bus_retries_before_a_dead_letter(
    llm_environment: FakeLLM, bus_retries: int, sdk_retries: int
) -> None:
    SDK_RETRIES["max_retries"] = sdk_retries
    settings = settings_for("memory", **(FAST | {"max_retries": bus_retries}))
    app, bus = host(settings, {"failing-llm": failing})
    with bus, EmbeddedWorker(app, concurrency=2):
        wait_for(lambda: "#engineering" in bus.subscriptions("failing-llm"), 10, "registration")
        bus.publish("#engineering", QUESTION, sender="bob", type="question")
        join(bus, "failing-llm", 60)  # a dead letter counts as handled
        letters = list_dead_letters(bus)
        bus.destroy()
    assert [letter.attempts for letter in letters] == [bus_retries + 1]
    assert "503" in letters[0].error
    stats = llm_environment.stats()
    assert stats.failed == (bus_retries + 1) * (sdk_retries + 1)
    assert stats.requests == 0

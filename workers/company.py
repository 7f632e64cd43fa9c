"""A small agent company, the demo's cast: a CEO, two engineers and a reviewer (and the
researcher of workers/researcher.py, whom alice asks a question).

The CEO's kickoff on #all-hands sets off a chain: alice delegates in #engineering, bob takes
the task, asks alice for an ETA (a request/reply from inside a handler) and asks carol for a
review by direct message; carol's first attempt fails (the CI runner is "down") and Celery
retries it; she approves in #code-review and reports to the CEO.
"""

from __future__ import annotations

from bus.message import Message
from bus.worker import Agent, Context

ceo = Agent("ceo", description="Sets direction; reads status reports.")
alice = Agent("alice", channels=["#engineering"], description="Engineer, owns the API.")
bob = Agent("bob", channels=["#engineering", "#code-review"], description="Engineer.")
carol = Agent("carol", channels=["#code-review"], description="Reviewer.")


@alice.on("announcement", channel="#all-hands")
def alice_kicks_off(message: Message, ctx: Context) -> None:
    if message.sender == "ceo" and "kickoff" in message.content.lower():
        ctx.publish(
            "#engineering",
            "Kickoff is on. I'll take the API; bob, can you take the worker pool?",
            type="delegation",
        )
        ctx.publish(
            "#engineering",
            "researcher: what p99 should an agent bus aim for?",
            type="question",
        )


@alice.on_direct("question")
def alice_answers(message: Message, ctx: Context) -> str:
    return "Friday, with tests."


@bob.on("delegation", channel="#engineering")
def bob_takes_the_task(message: Message, ctx: Context) -> None:
    if message.sender != "alice":
        return
    ctx.publish("#engineering", "On it: worker pool, starting now.", type="task_update")
    ctx.send("carol", "Could you review PR #42 (worker pool)?", type="review_request")
    answer = ctx.request("alice", "When will the API be ready?", type="question", timeout=20)
    ctx.publish("#engineering", f"alice says the API lands {answer.content}", type="status_report")


@carol.on_direct("review_request")
def carol_reviews(message: Message, ctx: Context) -> None:
    if ctx.attempt == 1:
        raise RuntimeError("CI runner unavailable")  # a transient failure: Celery retries
    ctx.publish(
        "#code-review",
        f"PR #42 approved (attempt {ctx.attempt}; the CI runner was down on the first).",
        type="approval",
    )
    ctx.send("ceo", "Review done: PR #42 approved.", type="status_report")


@ceo.on_direct("status_report")
def ceo_reads_reports(message: Message, ctx: Context) -> None:
    """Status reports need no answer; handling them acknowledges them."""

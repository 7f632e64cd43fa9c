"""The guards a publish asks the store's append to decide (see
:mod:`bus.store.contracts.guards`): the limits the settings, the channel and the message give.

What the guards said of a stored message (a circuit closed, members noted overloaded) is
logged here; what they refuse reaches the caller as the store's error (``HopLimitExceeded``,
``CircuitOpen``, ``BudgetExceeded``, ``AgentOverloaded``).
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from bus.channels import ChannelSpec, Overflow
from bus.errors import BusError
from bus.message import Message, build_message
from bus.settings import BusSettings
from bus.store import Appended
from bus.store.contracts.guards import AgentLimits, Checks, Spend, refused

logger = logging.getLogger(__name__)


def checks_for(settings: BusSettings, message: Message, spec: ChannelSpec | None) -> Checks | None:
    """The checks of ``message``'s append (``spec``: its channel's), ``None`` for a record
    (a dead letter, a guard event). With every setting 0 they are still asked: an agent's own
    limits (``AgentLimits``) apply whatever the bus-level ones are."""
    metadata = message.metadata
    tokens, cost = metadata.tokens_used or 0, metadata.cost or 0.0
    channel = message.channel
    if channel is not None and channel in (
        settings.dead_letter_channel,
        settings.guard_events_channel,
    ):
        return None  # a record of what went wrong (or what a guard did) is never refused
    max_hops = settings.max_hops
    if spec is not None and spec.max_hops is not None:
        max_hops = spec.max_hops
    # Positional, as the fields are declared: this runs at every publish.
    return Checks(
        message.sender,
        message.recipient if spec is None else spec.name,  # type: ignore[arg-type]
        message.hops,
        max_hops,
        settings.pair_rate,
        settings.pair_burst,
        int(settings.pair_cooldown * 1000),
        settings.max_pending,
        spec is None or spec.overflow is Overflow.REJECT_PUBLISH,
        settings.budget_tokens,
        settings.budget_cost,
        int(settings.budget_window * 1000),
        tokens,
        cost,
    )


def circuit_event(
    settings: BusSettings, message: Message, state: str, sender: str | None
) -> Message | None:
    """The event message of ``message``'s pair's circuit becoming ``state`` (``open`` or
    ``closed``), logged at WARNING; ``None`` when no ``guard_events_channel`` is set."""
    target = message.recipient or message.channel
    logger.warning("circuit %s: %s -> %s", state, message.sender, target)
    channel = settings.guard_events_channel
    if channel is None:
        return None
    return build_message(
        channel=channel,
        sender=sender or "bus",
        content=f"circuit {state}: {message.sender} -> {target}",
        type="guard.circuit",
        metadata={"extra": {"state": state, "sender": message.sender, "target": target}},
    )


def said(message: Message, appended: Appended) -> None:
    """Log the members the guards noted overloaded for a stored message."""
    if appended.overloaded:
        logger.warning(
            "%s #%s stored for overloaded member(s) %s (noted in their receipts)",
            message.channel,
            appended.seq,
            ", ".join(appended.overloaded),
        )


def reply_refusal(
    settings: BusSettings, words: str, responder: str, requester: str
) -> BusError | None:
    """The error of a reply the guards refused, from what its box held instead (``words``:
    see :meth:`bus.store.ReplyStore.put_reply`); ``None`` if ``words`` are a reply."""
    checks = Checks(
        responder,
        requester,
        rate=settings.pair_rate,
        burst=settings.pair_burst,
        window_ms=int(settings.budget_window * 1000),
    )
    return refused(checks, words)


class BudgetLine(NamedTuple):
    """An agent's spend in the current budget window against its limits (what ``bus budgets``
    and the console's agents page show)."""

    agent: str
    tokens: int
    #: Its own limit, else the setting's; ``None``: no budget.
    token_limit: int | None
    cost: float
    cost_limit: float | None


def budget_lines(
    settings: BusSettings, spend: dict[str, Spend], limits: dict[str, AgentLimits]
) -> list[BudgetLine]:
    """Each agent that spent in the window (``GuardStore.spending``) or set a budget of its
    own (``GuardStore.limits``), by name."""
    lines = []
    budgeted = {agent for agent, own in limits.items() if own.budget_tokens or own.budget_cost}
    for agent in sorted(set(spend) | budgeted):
        spent, own = spend.get(agent), limits.get(agent)
        tokens = settings.budget_tokens
        if own is not None and own.budget_tokens is not None:
            tokens = own.budget_tokens
        cost = settings.budget_cost
        if own is not None and own.budget_cost is not None:
            cost = own.budget_cost
        lines.append(
            BudgetLine(
                agent,
                spent.tokens if spent else 0,
                tokens or None,
                spent.cost if spent else 0.0,
                cost or None,
            )
        )
    return lines

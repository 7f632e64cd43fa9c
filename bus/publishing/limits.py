"""The guards a publish asks the store's append to decide (see
:mod:`bus.store.contracts.guards`): the limits the settings, the channel and the message give.

What the guards said of a stored message (a circuit closed, members noted overloaded) is
logged here; what they refuse reaches the caller as the store's error (``HopLimitExceeded``,
``CircuitOpen``, ``BudgetExceeded``, ``AgentOverloaded``).
"""

from __future__ import annotations

import logging

from bus.channels import ChannelSpec, Overflow
from bus.message import Message, build_message
from bus.settings import BusSettings
from bus.store import Appended
from bus.store.contracts.guards import Checks

logger = logging.getLogger(__name__)


def guards_on(settings: BusSettings) -> bool:
    """Whether any guard is on (all off: an append checks nothing)."""
    return bool(
        settings.max_hops
        or settings.pair_rate
        or settings.max_pending
        or settings.budget_tokens
        or settings.budget_cost
    )


def checks_for(settings: BusSettings, message: Message, spec: ChannelSpec | None) -> Checks | None:
    """The checks of ``message``'s append (``spec``: its channel's), ``None`` when every guard
    is off and it reports no usage."""
    metadata = message.metadata
    tokens, cost = metadata.tokens_used or 0, metadata.cost or 0.0
    channel = message.channel
    if channel is not None and channel in (
        settings.dead_letter_channel,
        settings.guard_events_channel,
    ):
        return None  # a record of what went wrong (or what a guard did) is never refused
    if not (guards_on(settings) or tokens or cost):
        return None
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

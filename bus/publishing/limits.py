"""The guards a publish asks the store's append to decide (see
:mod:`bus.store.contracts.guards`): the limits the settings, the channel and the message give.

What the guards said of a stored message (a circuit closed, members noted overloaded) is
logged here; what they refuse reaches the caller as the store's error (``HopLimitExceeded``,
``CircuitOpen``, ``BudgetExceeded``, ``AgentOverloaded``).
"""

from __future__ import annotations

import logging

from bus.channels import ChannelSpec, Overflow
from bus.message import Message
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
    if message.channel == settings.dead_letter_channel:
        return None  # a record of what went wrong is never refused
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


def said(message: Message, appended: Appended) -> None:
    """Log what the guards said of a stored message."""
    if appended.closed:
        target = message.recipient or message.channel
        logger.warning(
            "circuit closed: %s -> %s sends within its rate again", message.sender, target
        )
    if appended.overloaded:
        logger.warning(
            "%s #%s stored for overloaded member(s) %s (noted in their receipts)",
            message.channel,
            appended.seq,
            ", ".join(appended.overloaded),
        )

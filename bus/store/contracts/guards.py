"""The guards part of the store contract: what keeps agents in bounds, and the state it needs.

The guards are decided by :meth:`~bus.store.contracts.log.LogStore.append` itself, in the same
atomic step that stores the message (``append(checks=Checks(...))``): no extra round trip, and
every process of a bus sees one state. What they keep is here: each (sender, target) pair's
token bucket and circuit, each agent's spend in the current budget window, and the limits an
agent set for itself. An append the guards refuse stores nothing; one they accept is stored
as any other.

The checks, in order: the hop limit (``HopLimitExceeded``), the pair's circuit if open
(``CircuitOpen``), the sender's budget (``BudgetExceeded``), the recipients' pending counts
(``AgentOverloaded``, or for a drop-oldest channel a member noted ``overloaded``), then the
pair's bucket, whose running empty opens the circuit. A send after the cool-down is the trial
(half-open): the bucket has refilled, the send is stored and the circuit closes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

from bus.errors import AgentOverloaded, BudgetExceeded, BusError, CircuitOpen, HopLimitExceeded


class Checks(NamedTuple):
    """What one append must pass, with the limits the publisher holds (0: that guard off).
    An agent's own limits (:meth:`GuardStore.set_limits`) replace ``max_hops`` for it as a
    sender, ``max_pending`` for it as a recipient, and the budgets for it as a sender."""

    sender: str
    #: The recipient agent, or ``#<channel>``: the pair the circuit is kept for.
    target: str
    #: The message's hops.
    hops: int = 0
    max_hops: int = 0
    #: The pair's bucket: refill per second and size; how long an open circuit refuses.
    rate: float = 0.0
    burst: int = 0
    cooldown_ms: int = 0
    max_pending: int = 0
    #: ``False``: an overloaded channel member is noted (drop-oldest) instead of refusing.
    refuse_overloaded: bool = True
    budget_tokens: int = 0
    budget_cost: float = 0.0
    window_ms: int = 3_600_000
    #: The usage the message reports (``metadata.tokens_used``, ``metadata.cost``), charged
    #: to the sender when it is stored.
    tokens: int = 0
    cost: float = 0.0

    @property
    def active(self) -> bool:
        """Whether any guard needs the store's state (or the message reports usage)."""
        return bool(
            self.rate
            or self.max_pending
            or self.budget_tokens
            or self.budget_cost
            or self.tokens
            or self.cost
        )


class AgentLimits(NamedTuple):
    """An agent's own limits (``None``: the bus's setting applies)."""

    max_hops: int | None = None
    max_pending: int | None = None
    budget_tokens: int | None = None
    budget_cost: float | None = None


class Circuit(NamedTuple):
    """A (sender, target) pair whose circuit is not closed."""

    sender: str
    #: An agent, or ``#<channel>``.
    target: str
    #: ``open`` (refusing until ``until_ms``) or ``half-open`` (the cool-down passed: the next
    #: send is the trial that closes it).
    state: str
    until_ms: int


class Spend(NamedTuple):
    """What an agent spent in the current budget window."""

    tokens: int
    cost: float
    #: The window's start (epoch ms).
    window_start_ms: int


class GuardStore(ABC):
    """Circuits, spend and agents' own limits (the checks themselves are the append's).
    Times are the store's clock (Redis: the server's), so every process agrees on them."""

    @abstractmethod
    def set_limits(self, agent: str, limits: AgentLimits) -> None:
        """Keep ``agent``'s own limits (all ``None``: forget them)."""

    @abstractmethod
    def limits(self) -> dict[str, AgentLimits]:
        """Every agent's own limits, by agent."""

    @abstractmethod
    def circuits(self) -> list[Circuit]:
        """The circuits not closed, sorted by sender and target (the store's clock)."""

    @abstractmethod
    def reset_circuit(self, sender: str, target: str) -> bool:
        """Close the circuit of ``sender`` to ``target``, its bucket full; whether it was not
        closed."""

    @abstractmethod
    def charge(self, agent: str, tokens: int, cost: float, window_ms: int) -> Spend:
        """Add usage to ``agent``'s spend in the current window; its spend now."""

    @abstractmethod
    def spending(self, window_ms: int) -> dict[str, Spend]:
        """Each agent's spend in the current window (those that spent nothing in it left
        out)."""


def window_start(now_ms: int, window_ms: int) -> int:
    """The start of the budget window ``now_ms`` falls in (windows are aligned to the epoch)."""
    return now_ms - now_ms % window_ms


def guard_refusal(checks: Checks, kind: str, *values: float, agent: str = "") -> BusError:
    """The error for an append the guards refused, from what the store found: ``hops``
    (hops, limit), ``circuit`` (seconds left, opened by this send: 1 or 0), ``tokens`` or
    ``cost`` (spent, limit), ``overloaded`` (pending, limit) of ``agent``."""
    sender, target = checks.sender, checks.target
    window = checks.window_ms / 1000
    if kind == "hops":
        hops, limit = int(values[0]), int(values[1])
        return HopLimitExceeded(
            f"{sender}'s message to {target} would be hop {hops} of a causation chain, beyond "
            f"the limit of {limit} (BUS_MAX_HOPS): agents answering each other in a loop?",
            sender=sender,
            target=target,
            hops=hops,
            limit=limit,
        )
    if kind == "circuit":
        left, opened = round(values[0], 3), bool(values[1])
        return CircuitOpen(
            f"{sender} -> {target}: circuit open for {left:g} s more, too many messages too "
            f"fast (more than BUS_PAIR_RATE={checks.rate:g}/s beyond a burst of "
            f"{checks.burst}); `bus circuit reset {sender} {target}` closes it",
            sender=sender,
            target=target,
            retry_after=left,
            opened=opened,
        )
    if kind in ("tokens", "cost"):
        spent: float = values[0]
        budget: float = values[1]
        if kind == "tokens":
            spent, budget = int(spent), int(budget)
        return BudgetExceeded(
            f"{sender} spent {spent:g} {kind} in this {window:g} s window, its {kind} budget "
            f"being {budget:g}: its publishes are refused until the window ends",
            agent=sender,
            budget=kind,
            spent=spent,
            limit=budget,
            window_seconds=window,
        )
    pending, limit = int(values[0]), int(values[1])
    return AgentOverloaded(
        f"{agent} is overloaded: {pending} messages not read yet, its max_pending being "
        f"{limit}; {sender}'s message to {target} was not stored",
        agent=agent,
        sender=sender,
        target=target,
        pending=pending,
        limit=limit,
    )


#: How the words of a guard's refusal start (the Redis scripts' error reply, and what a
#: refused reply leaves in its box).
REFUSAL = "BUSGUARD "


def refused(checks: Checks, words: str) -> BusError | None:
    """The error of a refusal in the store's words (``BUSGUARD <kind> <value> <value>
    [agent]``: see :func:`guard_refusal`), ``None`` if ``words`` are not one."""
    if not words.startswith(REFUSAL):
        return None
    kind, first, second, *agent = words[len(REFUSAL) :].split(" ")
    return guard_refusal(checks, kind, float(first), float(second), agent="".join(agent))


def refusal_words(error: BusError) -> str:
    """The store's words for a refusal that :func:`guard_refusal` made (``error``)."""
    context = error.context
    if isinstance(error, HopLimitExceeded):
        values = f"hops {context['hops']} {context['limit']}"
    elif isinstance(error, CircuitOpen):
        values = f"circuit {context['retry_after']} {int(context['opened'])}"
    elif isinstance(error, BudgetExceeded):
        values = f"{context['budget']} {context['spent']} {context['limit']}"
    else:
        values = f"overloaded {context['pending']} {context['limit']} {context['agent']}"
    return REFUSAL + values


def overloaded_note(pending: int, limit: int) -> str:
    """The text of the receipt note of a channel member noted overloaded by an append."""
    return f"overloaded: {pending} messages not read yet (max_pending {limit})"

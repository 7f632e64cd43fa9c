"""Case ``receipts_cost``: what pushed receipts cost (issue 17: at most 5%), the messages'
sender consuming no receipts (``off``) against consuming them (``on``: registered with
``receipts=True``), in one run: ``python -m bench --only receipts_cost``.

Per transport and mode, as the ``auth`` and ``otel`` cases measure them: ``hosted``
(deliveries/s of a solo worker hosting 2 agents; with ``on`` each handled delivery's commit
builds a receipt and appends it to the sender's inbox, and the first wakes the sender: a
hosted consumer is woken once per burst) and ``publish``/``pull``
(one bus publishing to a channel with one member, which pulls: with ``on`` each hand-over
pushes a receipt, which takes the pull member a second store step per message, the first
answering that the sender wants one; ``publish`` differs only by the sender's flag). In both
modes the sender ``bench`` is a registered agent. The modes alternate 3 times (quick: once);
each figure is the median of its runs (``receipts_off_<what>``, and ``receipts_on_<what>``
with its ratio to it).
"""

from __future__ import annotations

from functools import partial

from bench.cases.auth import UNITS, hosted_deliveries, publish_and_pull
from bench.cases.base import CaseArgs, Figure, alternating, paired_figures
from bus import Bus

MODES = ("off", "on")
#: Messages per run unless ``--n`` asks for fewer.
RECEIPTS_MESSAGES = 1000


def sender(bus: Bus, mode: str) -> None:
    """Register the sender ``bench``; with ``on``, a hosted receipt consumer (as a worker
    registers an agent with an ``on_receipt`` handler), whose run is not draining its inbox
    here: what is measured is what producing the receipts costs the worker that handles."""
    bus.register_agent("bench")
    if mode == "on":
        bus.store.receipts.consume("bench", True, hosted=True)


class ReceiptsCostCase:
    """The figures with the sender consuming receipts and not, alternating; see the doc."""

    name = "receipts_cost"
    group = "receipts"

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        """Each mode ``repeat`` times, alternating; the medians, on against off."""
        n = args.messages or min(args.run.n, RECEIPTS_MESSAGES)
        repeat = 1 if args.quick else 3

        def measure(mode: str, attempt: int) -> dict[str, float]:
            tag, prepare = f"rc{mode[1]}{attempt}", partial(sender, mode=mode)
            values = hosted_deliveries(transport, "off", n, args.run.ns(f"{tag}h"), prepare)
            return values | publish_and_pull(transport, "off", n, args.run.ns(f"{tag}p"), prepare)

        samples = alternating(transport, "receipts", MODES, repeat, measure)
        return paired_figures(
            samples, UNITS, MODES, "receipts", transport, n=n, repeat=repeat, target=0.95
        )


CASE = ReceiptsCostCase()

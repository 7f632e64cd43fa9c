"""Case ``guards``: what the guards (issue 23: hop limit, pair circuits, pending counts,
decided in the append's atomic step) cost, all off against the defaults, in one run:
``python -m bench --only guards [--transports memory,redis] [--n 1000]``.

Per transport and mode: ``publish`` and ``pull`` (messages/s of one bus, as the ``auth`` case
measures them) and ``hosted`` (deliveries/s of a solo worker hosting 2 agents), each also per
CPU second. ``off``: ``BUS_MAX_HOPS=0 BUS_PAIR_RATE=0 BUS_MAX_PENDING=0`` (the append checks
nothing); ``defaults``: the settings' defaults (max hops 32, 500 msgs/s per pair with a burst
of 5000, max pending 10000; budgets are off by default). The modes alternate 3 times (quick:
once); each figure is the median of its runs (``guards_off_<what>``, and
``guards_defaults_<what>`` with its ratio to it).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from bench.cases.auth import UNITS, mode_samples
from bench.cases.base import CaseArgs, Figure, paired_figures
from bench.common import environment

MODES = ("off", "defaults")
#: The environment of the ``off`` mode, for this process and the worker subprocesses.
ALL_OFF = {"BUS_MAX_HOPS": "0", "BUS_PAIR_RATE": "0", "BUS_MAX_PENDING": "0"}


def guards(mode: str) -> AbstractContextManager[None]:
    """With ``off``: every guard off, here and in the worker subprocesses started meanwhile."""
    return environment(ALL_OFF if mode == "off" else {})


class GuardsCase:
    """The figures with the guards off and at their defaults, alternating; see the module doc."""

    name = "guards"
    group = "guards"

    def run(self, transport: str, args: CaseArgs) -> list[Figure]:
        """Each mode ``repeat`` times, alternating; the medians, defaults against off."""
        n, repeat, samples = mode_samples(transport, args, "guards", MODES, within=guards)
        return paired_figures(
            samples, UNITS, MODES, "guards", transport, n=n, repeat=repeat, target=0.9
        )

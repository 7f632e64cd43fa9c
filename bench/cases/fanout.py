"""Fan-out: deliveries/s to 1, 10 and 100 subscribers of one channel, each drained with
:meth:`bus.Bus.receive`; the baseline of the 100-subscriber figure is the 1-subscriber one."""

from __future__ import annotations

from bench import pull
from bench.cases.parts import Compare, PartsCase

CASE = PartsCase(
    "fanout",
    "fanout",
    (("fanout", lambda t, a: pull.fanout(t, a.run)),),
    compare=(
        Compare("fanout_100_deliveries_per_s", "fanout_1_deliveries_per_s", {"*": 0.7}),
        Compare("fanout_100_us_per_delivery", "fanout_1_us_per_delivery"),
    ),
)

"""Many agents: registering 1,000 agents x 10 of 100 channels with
:meth:`bus.Bus.register_agents` (at most 5 s), and a publish to channels of 10, 100 and 1,000
members (at most 10 ms at 1,000); with coalesced deliveries, the publish to 1,000 members
that each have a delivery outstanding (what a busy channel's publishes cost)."""

from __future__ import annotations

from bench import scale
from bench.cases.parts import Compare, PartsCase, Target

CASE = PartsCase(
    "scale",
    "scale",
    (
        ("scale", lambda t, a: scale.run(t, a.run)),
        ("scale_coalesced", lambda t, a: scale.publish_coalesced(t, a.run)),
    ),
    compare=(Compare("scale_publish_ms_1000_members", "scale_publish_ms_10_members"),),
    targets=(
        Target("scale_register_subscribe_s", {"*": 5.0}),
        Target("scale_publish_ms_1000_members", {"*": 10.0}),
    ),
)

"""The channels every bus starts with, unless ``BUS_DEFAULT_CHANNELS`` says otherwise."""

#: Channels created by :meth:`bus.Bus.start`. ``#all-hands`` is a broadcast channel: it reaches
#: every registered agent, subscribed or not. The others are topic channels (members only).
DEFAULT_CHANNELS: tuple[str, ...] = (
    "#all-hands",
    "#engineering",
    "#product",
    "#design",
    "#incidents",
    "#code-review",
    "#watercooler",
)

#: Default channels created as broadcast channels.
BROADCAST_CHANNELS: frozenset[str] = frozenset({"#all-hands"})

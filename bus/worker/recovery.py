"""What a worker does when its store lost its state (restarted empty, failed over to an empty
replica): notice it, say loudly what was lost, put back what it hosts, and carry on.

The store's epoch (:class:`~bus.store.EpochStore`) tells: a worker checks it when its
consumer (re)connects and at every sweep. Putting back means: the default channels, each hosted
agent (queue, inbox, broadcast channels) and its subscriptions to the channels that exist. A
channel someone created at run time is not re-created (its kind and retention are not known
here): it is reported, and the agents that want it are subscribed at a later sweep once someone
creates it again. Only then is the epoch written again, so publishers, refused with
``StoreReset`` meanwhile, never "succeed" into a registry without the hosted members.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bus.core import Bus
from bus.errors import BusError
from bus.settings.urls import mask
from bus.worker.agent import Agent

logger = logging.getLogger(__name__)


def register_hosted(bus: Bus, agents: Iterable[Agent]) -> dict[str, set[str]]:
    """Register each agent and subscribe it to those of its channels that exist.

    Returns:
        agent -> the channels it wants that do not exist (nothing was done about those).
    """
    missing: dict[str, set[str]] = {}
    existing = {spec.name for spec in bus.store.registry.list_channels()}
    for agent in agents:
        gone = {name for name in agent.channels if name not in existing}
        bus.register_agent(agent.name, channels=[c for c in agent.channels if c not in gone])
        if agent.receipts:  # an on_receipt handler: a hosted receipt consumer
            bus.store.receipts.consume(agent.name, True, hosted=True)
        if gone:
            missing[agent.name] = gone
            logger.error(
                "%s wants %s, which do not exist: it is not subscribed to them. Create them "
                "(bus channels create NAME ...) and this worker subscribes it within a sweep.",
                agent.name,
                ", ".join(sorted(gone)),
            )
    return missing


def subscribe_missing(bus: Bus, missing: dict[str, set[str]]) -> None:
    """Subscribe agents to the channels of ``missing`` that exist now (updated in place)."""
    if not missing:
        return
    existing = {spec.name for spec in bus.store.registry.list_channels()}
    for agent, channels in list(missing.items()):
        for name in sorted(channels & existing):
            bus.subscribe(agent, name)
            channels.discard(name)
            logger.warning("%s is subscribed to %s again: it exists once more", agent, name)
        if not channels:
            del missing[agent]


def recover(bus: Bus, agents: list[Agent]) -> dict[str, set[str]] | None:
    """If the store lost its state, put back what this worker hosts.

    Returns:
        ``None`` if the store holds the epoch this process knows; else what :func:`register_hosted`
        found missing.
    """
    store = bus.store
    found, expected = store.epochs.epoch(), store.epochs.expected
    if found is not None and found == expected:
        return None
    channels = ", ".join(sorted({name for agent in agents for name in agent.channels})) or "none"
    logger.error(
        "STORE RESET: the store at %s lost its state (epoch %s, found %s). Lost: every message "
        "not yet handled, every agent's position and subscription, the channels created at run "
        "time, dead letters and history. Re-registering the default channels and the hosted "
        "agents %s (channels %s); messages published before now and not handled are gone.",
        mask(bus.store_url),
        expected,
        found or "none",
        ", ".join(agent.name for agent in agents) or "none",
        channels,
    )
    bus.registry.forget()
    bus.inboxes.forget()
    bus.registry.create_defaults()
    missing = register_hosted(bus, agents)
    store.epochs.establish()
    logger.warning("store re-established with epoch %s; consuming on", store.epochs.expected)
    return missing


class Registration:
    """What a worker has registered of its hosted agents, across consumer restarts and sweeps.

    The first registration (the worker starting) fails loudly: a supervisor restarts it. Later
    ones (the broker connection came back) never end the worker: a server still unreachable or
    a channel gone with the store is logged and retried at each sweep.
    """

    def __init__(self, agents: list[Agent]) -> None:
        self.agents = agents
        self._started = False
        self._pending = False
        #: agent -> channels it wants that do not exist (gone with the store).
        self.missing: dict[str, set[str]] = {}

    def on_connect(self, bus: Bus) -> None:
        """Register the agents (the consumer (re)connected); see the class doc."""
        try:
            self._register(bus)
        except BusError as exc:
            if not self._started:
                raise
            logger.warning("could not register the hosted agents again (%s): retrying", exc)
            self._pending = True
        self._started = True

    def _register(self, bus: Bus) -> None:
        found = recover(bus, self.agents)
        if found is not None:
            self.missing.update(found)
        elif self._started:
            self.missing.update(register_hosted(bus, self.agents))
        else:
            # One batch for all: queues and bindings on one broker channel, the store in one
            # step per batch, and one store read for what a previous start registered.
            bus.register_agents({agent.name: agent.channels for agent in self.agents})
            for agent in self.agents:  # pushed receipts: the agents with on_receipt consume them
                if agent.receipts:
                    bus.store.receipts.consume(agent.name, True, hosted=True)
        for agent in self.agents:  # the guards' limits it set for itself (or none any more)
            bus.store.guards.set_limits(agent.name, agent.limits)
        self._pending = False

    def on_sweep(self, bus: Bus) -> bool:
        """Check the store and finish what is pending; ``True`` if the store was reset."""
        if self._pending:
            self._register(bus)
            return True
        found = recover(bus, self.agents)
        if found is not None:
            self.missing.update(found)
        subscribe_missing(bus, self.missing)
        return found is not None

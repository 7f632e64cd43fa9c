"""The bus's channels and agents, declared once: :class:`RegistryOperations`, what sets a bus
up (creating and changing channels, registering agents), which :class:`bus.api.BusOperations`
adds to what an agent does; :mod:`bus.registry` implements them behind :class:`bus.Bus`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from bus.api.agent_operations import AgentOperations
from bus.channels import ChannelInfo, ChannelKind, Overflow, Retention

__all__ = ["RegistryOperations"]


class RegistryOperations(Protocol):
    """Channels and agents: creating, changing and listing channels; registering agents (one or
    many, with their subscriptions), unregistering them, listing them; an agent's client."""

    def create_channel(
        self,
        name: str,
        *,
        kind: ChannelKind | str = ChannelKind.TOPIC,
        retention: Retention | None = None,
    ) -> ChannelInfo:
        """Create a channel, or return the existing one if it has the same kind and retention.

        Raises:
            InvalidName. ChannelExists: it exists with another kind or retention.
        """
        ...

    def update_channel(
        self,
        name: str,
        *,
        retention: Retention | None = None,
        kind: ChannelKind | str | None = None,
        overflow: Overflow | str | None = None,
        max_hops: int | None = None,
    ) -> ChannelInfo:
        """Change a channel's retention, kind, overflow policy or hop limit while the bus runs:
        every process applies it at its next publish (the store appends only for the current
        spec version). A smaller retention trims at the next append; a channel made broadcast
        gets every agent as a member. ``max_hops`` replaces ``BUS_MAX_HOPS`` for the channel
        (0: the setting's again; docs/safety.md). The change is logged.

        Raises:
            UnknownChannel. InvalidArgument: an unknown kind, a negative ``max_hops``.
        """
        ...

    def get_channel(self, name: str) -> ChannelInfo:
        """The channel's spec, members, last sequence number and retained count.

        Raises:
            UnknownChannel: there is no such channel.
        """
        ...

    def list_channels(self) -> list[ChannelInfo]:
        """Every channel, sorted by name."""
        ...

    def register_agent(
        self, agent: str, *, channels: Iterable[str] = (), receipts: bool | None = None
    ) -> None:
        """Register an agent (idempotent): its queue, its inbox, every broadcast channel, and a
        subscription to each of ``channels``. ``receipts=True`` makes it a receipt consumer:
        what becomes of each message it sends, for each member (handled, dead-lettered,
        refused), arrives in its inbox as a message of type ``receipt``
        (:func:`bus.receipts.receipt_of` reads it), in order, once each; ``False`` stops
        them; ``None`` leaves it as it is. A hosted agent with an ``on_receipt`` handler is
        made one by its worker.

        Raises:
            InvalidName, UnknownChannel: both checked before anything changes.
        """
        ...

    def register_agents(self, agents: Mapping[str, Iterable[str]]) -> None:
        """:meth:`register_agent` for each of ``agents`` (name -> channels), in batches: one
        broker channel, one store step per batch; what exists costs one store read for all.

        Raises:
            InvalidName, UnknownChannel: all checked before anything changes.
        """
        ...

    def subscribe_many(self, agent: str, channels: Iterable[str]) -> list[bool]:
        """Subscribe ``agent`` to each of ``channels`` in one batch; per channel, whether it is
        a new membership.

        Raises:
            UnknownAgent, UnknownChannel, InvalidName: checked before anything changes.
        """
        ...

    def unregister_agent(self, agent: str) -> list[str]:
        """Remove a registered agent, for good: its queue is deleted with what it held, its
        subscriptions end (broadcast memberships too), and its positions, leases and failure
        counts are forgotten. A direct message to it then raises ``UnknownAgent``; a delivery
        already on its way is acknowledged and dropped, with a log line, by the worker that
        gets it. A worker that hosts the agent registers it again when it restarts: take it
        out of the worker's agent modules too.

        Returns:
            The channels it was a member of, sorted.

        Raises:
            InvalidName, UnknownAgent: nothing changes then.
        """
        ...

    def agents(self) -> list[str]:
        """Every registered agent, sorted."""
        ...

    def agent(self, name: str, *, channels: Iterable[str] = ()) -> AgentOperations:
        """Register ``name`` (idempotent) subscribed to ``channels``; return its client.

        Raises:
            InvalidName, UnknownChannel.
        """
        ...

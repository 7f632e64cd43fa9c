"""The registry part of the store contract: channels, agents and who is a member of what."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from bus.channels import ChannelSpec


class RegistryStore(ABC):
    """Channels, agents and who is a member of what."""

    @abstractmethod
    def create_channel(self, spec: ChannelSpec) -> bool:
        """Record a channel; ``False`` if one with the same kind and retention exists.

        A broadcast channel makes every registered agent a member, from its current head.

        Raises:
            ChannelExists: a channel of that name exists with a different spec.
        """

    @abstractmethod
    def update_channel(self, spec: ChannelSpec, replaces: int) -> bool:
        """Store ``spec`` (whose ``version`` is newer) in place of version ``replaces``; a
        channel becoming broadcast makes every registered agent a member, from its head.

        Returns:
            ``False`` (nothing done) if the stored version is not ``replaces`` any more.

        Raises:
            UnknownChannel: there is no such channel.
        """

    @abstractmethod
    def get_channel(self, name: str) -> ChannelSpec | None:
        """The channel's spec, or ``None``."""

    @abstractmethod
    def list_channels(self) -> list[ChannelSpec]:
        """Every channel, sorted by name."""

    @abstractmethod
    def register_agent(self, agent: str) -> bool:
        """Record an agent, its inbox position (the inbox's head) and its membership of every
        broadcast channel; ``False`` if it was registered already."""

    @abstractmethod
    def unregister_agent(self, agent: str) -> list[str] | None:
        """Forget an agent in one step: its memberships (broadcast ones too), every position,
        lease, failure count and coalescing signal it has, and its registration. Its inbox's
        log and head stay (retention bounds them; a later agent of that name reads on from
        the head).

        Returns:
            The channels it was a member of, sorted; ``None`` if it was not registered.
        """

    @abstractmethod
    def is_agent(self, agent: str) -> bool:
        """Whether the agent is registered."""

    @abstractmethod
    def agents(self) -> list[str]:
        """Every registered agent, sorted."""

    @abstractmethod
    def subscribe(self, agent: str, channel: str) -> bool:
        """Make ``agent`` a member of ``channel`` from its current head; ``False`` if it was."""

    @abstractmethod
    def unsubscribe(self, agent: str, channel: str) -> bool:
        """End the membership and forget the position; ``False`` if there was none."""

    @abstractmethod
    def members(self, channel: str) -> list[str]:
        """The channel's members, sorted."""

    @abstractmethod
    def subscriptions(self, agent: str) -> list[str]:
        """The channels ``agent`` is a member of, sorted."""

    # Bulk forms: what a worker or an operator registering hundreds of agents needs, in one
    # step (one round trip on Redis) per batch rather than one per agent or subscription.

    @abstractmethod
    def register_agents(self, agents: Sequence[str]) -> list[bool]:
        """:meth:`register_agent` for each of ``agents``; one ``bool`` per agent, in order
        (an agent named twice is ``False`` the second time)."""

    @abstractmethod
    def registered(self, agents: Sequence[str]) -> list[bool]:
        """Whether each of ``agents`` is registered, in order (one read)."""

    @abstractmethod
    def subscribe_many(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """:meth:`subscribe` for each ``(agent, channel)`` pair; one ``bool`` per pair, in
        order."""

    @abstractmethod
    def subscriptions_of(self, agents: Sequence[str]) -> dict[str, set[str]]:
        """The channels each of ``agents`` is a member of (one read; an unknown agent has
        none)."""

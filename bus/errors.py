"""One error hierarchy for everything bus refuses.

Every error carries structured context (``channel``, ``agent``, ``field`` ...) in
:attr:`BusError.context`, so callers can react without parsing the message.
"""

from __future__ import annotations

from typing import Any


class BusError(Exception):
    """Base class of every error bus raises on purpose."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        #: Structured details: which channel, agent, field or value was wrong.
        self.context: dict[str, Any] = context

    def __getattr__(self, name: str) -> Any:
        # ``err.channel`` reads ``err.context["channel"]``; unknown names are still errors.
        try:
            return self.__dict__["context"][name]
        except KeyError:
            raise AttributeError(name) from None


class ConfigurationError(BusError):
    """The settings cannot work: unsupported URL scheme, missing store for amqp, ..."""


class InvalidName(BusError, ValueError):
    """A channel or agent name is blank, too long, or has characters bus cannot carry."""


class UnknownChannel(BusError):
    """The channel does not exist on this bus."""


class ChannelExists(BusError):
    """A channel of that name already exists with a different kind or retention."""


def channel_exists(existing: Any) -> ChannelExists:
    """The error for creating ``existing`` (a ChannelSpec) anew with another kind or retention:
    it says how to change it instead."""
    name = existing.name
    return ChannelExists(
        f"channel {name!r} exists as {existing.kind} with {existing.retention}: to change it, "
        f"use Bus.update_channel({name!r}, ...) or `bus channels set {name} --max-messages N`",
        channel=name,
    )


class ChannelChanged(BusError):
    """The channel's spec changed since this process read it; ``context['spec']`` is the
    stored one (the publisher refreshes its cache and retries by itself)."""


class UnknownAgent(BusError):
    """The agent is not registered on this bus."""


class NotSubscribed(BusError):
    """The agent is not a member of the channel it asked to read from."""


class UnknownMessage(BusError):
    """No message with ``context['message_id']`` is known to this bus: never published here
    (another namespace), or trimmed by retention (``trace``: as soon as it is; ``status``: once
    its id is older than the message index keeps)."""


class InvalidMessage(BusError, ValueError):
    """A message failed validation; ``context['errors']`` lists each field and why."""


class MessageDecodeError(InvalidMessage):
    """Bytes on the wire are not a valid bus message (bad JSON or a field that fails)."""


class MessageTooLarge(InvalidMessage):
    """The message's JSON encoding is larger than ``max_message_bytes``."""


class BusNotStarted(BusError):
    """An operation needs a started bus (``bus.start()`` or ``with bus:``)."""


class BusTimeout(BusError):
    """A wait for a reply or a message ran out of time."""


class InvalidArgument(BusError, ValueError):
    """An argument has the wrong type or value (a negative timeout, a naive datetime, ...)."""


class BrokerUnavailable(BusError):
    """The broker at ``context['url']`` cannot be reached."""


class StoreUnavailable(BusError):
    """The store at ``context['url']`` cannot be reached."""


class StoreReset(BusError):
    """The store at ``context['url']`` lost its state (restarted empty, failed over to an empty
    replica, flushed): ``context['expected']`` is the epoch this process knew, ``context['found']``
    the store's now (``None``: not re-established yet). Nothing was stored by the call."""


class NotReplicated(BusError):
    """A publish was stored on the master but fewer than ``context['wanted']`` replicas
    (``BUS_STORE_MIN_REPLICAS``) confirmed it within ``BUS_STORE_REPLICA_TIMEOUT``:
    ``context['replicas']`` did, ``context['seq']`` is its seq on ``context['stream']``. A
    failover may lose it; its idempotency key is kept, so a retry with the same key is not a
    duplicate."""


class PublishRejected(BusError):
    """A channel with ``overflow=reject-publish`` refused a message: ``context['lagging']`` names
    the members whose unread messages it would have trimmed."""


def rejected(channel: Any, lagging: list[str]) -> PublishRejected:
    """The error for a publish to ``channel`` (a ChannelSpec with reject-publish) that would
    trim messages the ``lagging`` members have not read."""
    names = ", ".join(sorted(lagging))
    return PublishRejected(
        f"{channel.name} is full for {names}: publishing would trim messages not read yet "
        f"(overflow=reject-publish, max_messages={channel.retention.max_messages}). Let them "
        "catch up, raise its retention (bus channels set), or make it drop-oldest",
        channel=channel.name,
        lagging=sorted(lagging),
    )


class HandlerFailed(BusError):
    """One or more of an agent's handlers raised; ``context['failures']`` names each."""


class AuthenticationFailed(BusError):
    """A message or credential cannot be trusted; ``context['reason']`` says why (``unsigned``,
    ``bad_signature``, ``unknown_key``, ``bad_certificate``, ``wrong_sender``, ``wrong_stream``,
    ``revoked``, ``expired``, ``no_policy``)."""


class PermissionDenied(BusError):
    """The policy does not let ``context['identity']`` do ``context['action']`` on
    ``context['channel']`` (or to ``context['recipient']``)."""


class RateLimited(BusError):
    """``context['identity']`` published faster than ``context['rate']`` messages/s allows; a
    token is back after ``context['retry_after']`` seconds."""


class PolicyConflict(BusError):
    """Other operators kept changing the policy during a change; ``context['attempts']`` says
    how many tries were made."""


class HopLimitExceeded(BusError):
    """A message would be ``context['hops']`` hops from the message that started its chain,
    beyond ``context['limit']`` (``BUS_MAX_HOPS``, or the channel's or sender's own): two agents
    answering each other, stopped. Inside a handler, the handled message is dead-lettered."""


class CircuitOpen(BusError):
    """``context['sender']`` sent to ``context['target']`` (an agent, or ``#channel``) faster
    than ``BUS_PAIR_RATE`` allows for longer than ``BUS_PAIR_BURST`` covers: its circuit is
    open for ``context['retry_after']`` more seconds (``context['opened']``: by this send)."""


class BudgetExceeded(BusError):
    """``context['agent']`` spent its ``context['budget']`` budget (``tokens`` or ``cost``):
    ``context['spent']`` in the window of ``context['window_seconds']`` s, the limit being
    ``context['limit']``; its publishes are refused until the window ends."""


class AgentOverloaded(BusError):
    """``context['agent']`` has ``context['pending']`` messages it has not read, more than its
    ``context['limit']`` (``max_pending``): a message to it is refused rather than queued."""

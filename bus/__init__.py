"""bus: a message bus for teams of AI agents, on Kombu and Celery.

Start with :class:`Bus`; messages are :class:`Message`; errors derive from :class:`BusError`.
"""

from bus.aio import AsyncAgentClient, AsyncBus
from bus.channels import ChannelInfo, ChannelKind, ChannelSpec, Retention
from bus.client import AgentClient
from bus.core import Bus
from bus.dispatch import Dispatcher, DispatchReport
from bus.errors import (
    AgentOverloaded,
    BrokerUnavailable,
    BudgetExceeded,
    BusError,
    BusNotStarted,
    BusTimeout,
    ChannelExists,
    CircuitOpen,
    ConfigurationError,
    HopLimitExceeded,
    InvalidArgument,
    InvalidMessage,
    InvalidName,
    MessageDecodeError,
    MessageTooLarge,
    NotReplicated,
    NotSubscribed,
    PermissionDenied,
    PublishRejected,
    RateLimited,
    StoreUnavailable,
    UnknownAgent,
    UnknownChannel,
    UnknownMessage,
)
from bus.kinds import MessageType, Priority
from bus.message import Attachment, Message, Metadata
from bus.receipts import DeliveryState, DeliveryStatus, MemberStatus
from bus.settings import BusSettings

__all__ = [
    "AgentClient",
    "AgentOverloaded",
    "AsyncAgentClient",
    "AsyncBus",
    "Attachment",
    "BrokerUnavailable",
    "BudgetExceeded",
    "Bus",
    "BusError",
    "BusNotStarted",
    "BusSettings",
    "BusTimeout",
    "ChannelExists",
    "ChannelInfo",
    "ChannelKind",
    "ChannelSpec",
    "CircuitOpen",
    "ConfigurationError",
    "DeliveryState",
    "DeliveryStatus",
    "DispatchReport",
    "Dispatcher",
    "HopLimitExceeded",
    "InvalidArgument",
    "InvalidMessage",
    "InvalidName",
    "MemberStatus",
    "Message",
    "MessageDecodeError",
    "MessageTooLarge",
    "MessageType",
    "Metadata",
    "NotReplicated",
    "NotSubscribed",
    "PermissionDenied",
    "Priority",
    "PublishRejected",
    "RateLimited",
    "Retention",
    "StoreUnavailable",
    "UnknownAgent",
    "UnknownChannel",
    "UnknownMessage",
]

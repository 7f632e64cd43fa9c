"""bus: a message bus for teams of AI agents, on Kombu and Celery.

Start with :class:`Bus`; messages are :class:`Message`; errors derive from :class:`BusError`.
"""

from bus.aio import AsyncAgentClient, AsyncBus
from bus.channels import ChannelInfo, ChannelKind, ChannelSpec, Retention
from bus.client import AgentClient
from bus.core import Bus
from bus.dispatch import Dispatcher, DispatchReport
from bus.errors import (
    BrokerUnavailable,
    BusError,
    BusNotStarted,
    BusTimeout,
    ChannelExists,
    ConfigurationError,
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
    "AsyncAgentClient",
    "AsyncBus",
    "Attachment",
    "BrokerUnavailable",
    "Bus",
    "BusError",
    "BusNotStarted",
    "BusSettings",
    "BusTimeout",
    "ChannelExists",
    "ChannelInfo",
    "ChannelKind",
    "ChannelSpec",
    "ConfigurationError",
    "DeliveryState",
    "DeliveryStatus",
    "DispatchReport",
    "Dispatcher",
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

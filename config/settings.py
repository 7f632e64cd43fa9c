"""One settings object for the whole bus, read from ``BUS_*`` environment variables.

Build it explicitly (``BusSettings()`` reads the environment, keyword arguments override it) and
pass it to :class:`bus.Bus`; nothing in bus reads the environment on its own.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, PositiveInt
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.channels import BROADCAST_CHANNELS, DEFAULT_CHANNELS


class BusSettings(BaseSettings):
    """Everything configurable about a bus. Environment variables are ``BUS_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="BUS_", extra="ignore", frozen=True, populate_by_name=True
    )

    #: Kombu transport URL: ``memory://`` (one process), ``redis://...`` or ``amqp://...``.
    #: ``CELERY_BROKER_URL`` is honoured when ``BUS_BROKER_URL`` is unset.
    broker_url: str = Field(
        default="memory://",
        validation_alias=AliasChoices("BUS_BROKER_URL", "CELERY_BROKER_URL", "broker_url"),
    )
    #: Where history, channel registry and consumer positions live. ``None`` means: the
    #: in-process store for ``memory://``, the broker's Redis for ``redis://``; amqp needs it set.
    store_url: str | None = None
    #: Prefix of every key, exchange and queue this bus creates, so several buses (or test runs)
    #: can share one Redis or RabbitMQ without seeing each other.
    namespace: str = Field(default="bus", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    #: Default number of newest messages a channel keeps (per-channel retention overrides it).
    retention_max_messages: PositiveInt = 1000
    #: Default maximum age of kept messages, in seconds; ``None`` keeps them until count trims.
    retention_max_age_seconds: float | None = Field(default=None, gt=0)
    #: Channels created when the bus starts.
    default_channels: tuple[str, ...] = DEFAULT_CHANNELS
    #: Which of the default channels are broadcast channels.
    broadcast_channels: frozenset[str] = BROADCAST_CHANNELS
    #: Largest accepted message, in bytes of its JSON encoding.
    max_message_bytes: PositiveInt = 256 * 1024
    #: Seconds between polls of the ``memory://`` transport (kombu's default of 1 s would make
    #: every message wait); Redis and RabbitMQ push and ignore it.
    polling_interval: float = Field(default=0.005, gt=0, le=1)
    #: Messages an agent's consumer may hold unacknowledged.
    prefetch_count: PositiveInt = 64

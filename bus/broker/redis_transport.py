"""kombu's Redis transport, with one guard: restoring unacknowledged deliveries of a channel
whose connection is already closed.

Why it is needed (issue 10: a worker died with ``AttributeError: 'NoneType' object has no
attribute 'hostname'`` as Redis dropped): when a kombu :class:`~kombu.Connection` closes or is
collected after a connection error, it detaches its transport (``transport.client = None``).
A consumer channel closed after that (Celery shuts its task consumer down after the connection
on a restart; a QoS finaliser may run at garbage collection) restores its delivered-but-unacked
messages, which needs a Redis client, which kombu builds from ``transport.client.hostname``.
Nothing is lost by skipping that restore: those deliveries stay in the transport's unacked
hash in Redis, and any consumer puts them back once ``BUS_VISIBILITY_TIMEOUT`` passes (and a
delivery is only a signal: the store's log has the message).
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis

logger = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):  # type: ignore[misc]
    """Skips the restore, with a warning, when the channel's connection is gone."""

    def restore_unacked(self, client: Any = None) -> None:
        if client is None and self.channel.connection.client is None:
            logger.warning(
                "%d unacknowledged deliveries cannot be put back now: their broker connection "
                "is closed; Redis hands them out again after the visibility timeout",
                len(self._delivered),
            )
            self._delivered.clear()
            return
        super().restore_unacked(client)


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    """kombu's Redis channel with the guarded :class:`QoS`."""

    QoS = QoS


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    """kombu's Redis transport with the guarded :class:`Channel` (``redis://`` brokers)."""

    Channel = Channel


class SentinelChannel(kombu_redis.SentinelChannel):  # type: ignore[misc]
    """kombu's Sentinel channel (the master found through the sentinels) with the guarded
    :class:`QoS`: a failover drops connections, the case the guard is for."""

    QoS = QoS


class SentinelTransport(kombu_redis.SentinelTransport):  # type: ignore[misc]
    """kombu's Sentinel transport with the guarded :class:`SentinelChannel` (``sentinel://``)."""

    Channel = SentinelChannel


#: What Celery's ``broker_transport`` names for ``redis://`` brokers.
TRANSPORT = f"{__name__}:Transport"
#: What it names for ``sentinel://`` brokers.
SENTINEL_TRANSPORT = f"{__name__}:SentinelTransport"

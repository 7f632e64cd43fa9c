"""Broker failures as callers see them: kombu's, amqp's, redis-py's and sockets' connection and
channel errors become :class:`~bus.errors.BrokerUnavailable`, naming the broker (password
masked)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kombu import Connection
from kombu.exceptions import KombuError

from bus.broker.redis_transport import TRANSPORT
from bus.errors import BrokerUnavailable, BusError
from bus.settings.urls import mask


def unavailable(url: str, exc: BaseException, doing: str = "reach") -> BrokerUnavailable:
    """The error a caller gets for ``exc`` from the broker at ``url`` (masked here)."""
    shown = mask(url)
    return BrokerUnavailable(
        f"cannot {doing} the broker at {shown}: {mask(str(exc)) or type(exc).__name__}",
        url=shown,
        error=type(exc).__name__,
    )


def url_of(connection: Connection) -> str:
    """The URL ``connection`` goes to (unmasked: :func:`unavailable` masks it). kombu names a
    transport given by class path (bus.broker.redis_transport's) by that path: put the scheme
    back."""
    uri = str(connection.as_uri(include_password=True))
    return "redis" + uri[len(TRANSPORT) :] if uri.startswith(TRANSPORT + "://") else uri


@contextmanager
def broker_errors(connection: Connection, doing: str = "reach") -> Iterator[None]:
    """Turn the connection and channel errors of ``connection``'s transport (kombu's, amqp's,
    redis-py's, sockets') raised in the block into :class:`BrokerUnavailable` naming the broker.

    Bus errors pass as they are (a store failure inside the block stays a store failure).
    """
    try:
        yield
    except BusError:
        raise
    except (OSError, KombuError, *connection.connection_errors, *connection.channel_errors) as exc:
        raise unavailable(url_of(connection), exc, doing) from exc

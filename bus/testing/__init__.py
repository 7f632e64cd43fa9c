"""Support for testing code built on bus, and for benchmarking it: the tests and ``bench`` share it.

- :mod:`bus.testing.brokers`: the test servers (``BUS_TEST_REDIS_URL``, ``BUS_TEST_AMQP_URL``),
  whether they answer, and :func:`settings_for` a transport in a namespace of its own.
- :mod:`bus.testing.processes`: the environment and the ``celery -A bus worker`` command line of
  a subprocess that joins a bus.
- :mod:`bus.testing.join`: :func:`join` waits until an agent has handled its backlog.
- :mod:`bus.testing.asgi_thread`: :func:`served` serves an ASGI app (the console) in a thread.

Nothing here connects anywhere at import time; every URL is read from the environment when asked.
"""

from bus.testing.brokers import (
    TRANSPORTS,
    amqp_url,
    broker_url,
    new_namespace,
    redis_url,
    settings_for,
    store_url,
    unreachable,
)
from bus.testing.join import join, lag_of
from bus.testing.processes import (
    celery_command,
    environment_for,
    settings_environment,
    worker_command,
)

__all__ = [
    "TRANSPORTS",
    "amqp_url",
    "broker_url",
    "celery_command",
    "environment_for",
    "join",
    "lag_of",
    "new_namespace",
    "redis_url",
    "settings_environment",
    "settings_for",
    "store_url",
    "unreachable",
    "worker_command",
]

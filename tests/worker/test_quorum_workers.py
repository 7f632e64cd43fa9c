"""``celery -A bus worker`` on RabbitMQ quorum queues (``BUS_QUEUE_TYPE=quorum``): the worker
suite's own tests, run with quorum-queue settings. Celery must see the quorum queues (no global
QoS, which quorum queues refuse) and the worker must start and handle in order, across a crash,
and refuse garbage as on classic queues."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from bus import Bus
from bus.settings import BusSettings
from tests.brokers import REDIS_URL, require, settings_for
from tests.worker.harness import FAST
from tests.worker.test_bad_deliveries import (  # noqa: F401 - collected here, on quorum queues
    test_garbage_deliveries_and_an_unreadable_entry_never_stop_a_stream,
)
from tests.worker.test_worker_processes import (  # noqa: F401 - collected here, on quorum queues
    test_a_worker_killed_mid_handler_loses_nothing_and_keeps_order,
    test_handlers_run_in_channel_order_whatever_the_pool,
)

pytestmark = [pytest.mark.amqp, pytest.mark.slow]


@pytest.fixture
def broker_settings() -> Iterator[BusSettings]:
    """The worker suite's settings on RabbitMQ, with quorum queues; state deleted afterwards."""
    require("amqp")
    settings = settings_for("amqp", queue_type="quorum", **FAST)
    yield settings
    Bus(settings).start().destroy()
    redis.Redis.from_url(REDIS_URL).delete(f"{settings.namespace}:test:runs")

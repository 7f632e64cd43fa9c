"""Pull readers on RabbitMQ quorum queues (``BUS_QUEUE_TYPE=quorum``): the same contract as on
classic queues. The tests are the contract suite's own, run here with quorum-queue settings; and
the agents' queues are quorum queues indeed."""

from __future__ import annotations

import pytest
from kombu import Connection

from bus import Bus
from bus.settings import BusSettings
from tests.brokers import AMQP_URL, require, settings_for
from tests.contract.test_bus_contract import (  # noqa: F401 - collected here, on quorum queues
    test_offline_agent_gets_what_was_published_meanwhile,
    test_receive_from_one_channel_leaves_the_others_for_later,
    test_unsubscribe_stops_delivery_even_of_what_is_queued,
)
from tests.contract.test_ordering import (  # noqa: F401 - collected here, on quorum queues
    test_broker_duplicates_and_reordering_never_reach_the_agent,
    test_consumer_killed_mid_stream,
    test_direct_messages_keep_the_inbox_order,
    test_one_publisher_every_subscriber_same_order,
)

pytestmark = pytest.mark.amqp


@pytest.fixture
def transport() -> str:
    """RabbitMQ only: quorum queues are RabbitMQ's."""
    require("amqp")
    return "amqp"


@pytest.fixture
def settings(transport: str) -> BusSettings:
    """The contract suite's settings, with quorum queues."""
    return settings_for(transport, queue_type="quorum")


def test_agent_queues_are_quorum_queues_and_publishes_are_confirmed(bus: Bus) -> None:
    bus.register_agent("alice", channels=["#engineering"])
    queue = bus.broker.topology.agent_queue("alice").name
    with Connection(AMQP_URL) as connection:
        channel = connection.channel()
        with pytest.raises(Exception, match="x-queue-type"):
            # Declaring it as a classic queue is refused: it exists with another type.
            channel.queue_declare(queue=queue, durable=True, auto_delete=False, passive=False)
    assert bus.broker.app.conf.broker_transport_options["confirm_publish"] is True
    bus.publish("#engineering", "confirmed", sender="bob")
    message = bus.receive("alice", timeout=5)
    assert message is not None
    assert message.content == "confirmed"

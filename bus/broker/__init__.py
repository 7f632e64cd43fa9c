"""The broker side of a bus: the Celery app, the Kombu topology, deliveries on the wire.

- :mod:`bus.broker.app`: the Celery app every process of a bus uses;
- :mod:`bus.broker.failures`: kombu, amqp and socket errors as
:class:`~bus.errors.BrokerUnavailable`;
- :mod:`bus.broker.deliveries`: :class:`~bus.broker.deliveries.Broker`, the one way deliveries
  are published;
- :mod:`bus.broker.topology`: exchanges per channel, a queue per agent, bindings;
- :mod:`bus.broker.wire`: what a delivery looks like (a Celery task message);
- :mod:`bus.broker.fanout`: many members' deliveries in one Redis round trip (``lua/``);
- :mod:`bus.broker.redis_transport`: kombu's Redis transport with one crash guarded.
"""

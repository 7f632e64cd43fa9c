"""Real servers and hosts for fault tests: one import for the classes of tests/support.

- :class:`RedisServer`: a private ``redis-server`` (stop, kill, restart empty, TLS).
- :class:`RabbitNode`: a private RabbitMQ node (``stop_app``/``start_app``, stop).
- :class:`Hosts`: test hosts in network namespaces that can be cut off and healed.
"""

from tests.support.hosts import Host, Hosts, netns_unavailable
from tests.support.rabbit_node import RabbitNode
from tests.support.redis_server import RedisServer
from tests.support.tls import TLSFiles, make_server_certificate

__all__ = [
    "Host",
    "Hosts",
    "RabbitNode",
    "RedisServer",
    "TLSFiles",
    "make_server_certificate",
    "netns_unavailable",
]

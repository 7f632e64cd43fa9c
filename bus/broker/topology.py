"""The Kombu entities of a bus: exchanges per channel, one direct exchange, a queue per agent.

- Channel ``#engineering`` is the direct exchange ``<ns>.channel._23engineering`` (the name is
  encoded by :func:`bus.names.encode_channel`, so ``#`` and ``*`` are never wildcards).
- Agent ``alice`` owns the durable queue ``<ns>.agent.alice`` (on RabbitMQ a classic or, with
  ``BUS_QUEUE_TYPE=quorum``, a quorum queue). Subscribing binds it to the
  channel's exchange with routing key ``alice``; unsubscribing removes that binding.
- Direct messages go through ``<ns>.direct`` with the recipient's name as routing key.

No fanout exchange is used: on Redis those are PUB/SUB and drop what nobody listens for.

Each delivery is a message of its own, for one member (its own Celery task). On RabbitMQ it is
published to the channel's exchange with the member's name as routing key, and the server routes
it through the member's binding; a message's deliveries to many members are one publish, the
other members' names in the ``BCC`` header, each routed through its own binding too
(:class:`~bus.broker.fanout.AmqpFanout`). On kombu's virtual transports (Redis, memory) the
exchange is emulated by the client, which would read the channel's whole binding table back from
Redis for every delivery (a round trip each, and O(members)) only to find the member's queue,
which bus already knows: the store names the members in the same atomic step that appends the
message. There, deliveries go straight to the member's queue (the default exchange), which is
what the lookup would resolve to; bindings are still made and removed, so the topology is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kombu import Connection, Exchange, Queue

from bus.names import encode_channel

#: Key prefixes of kombu's Redis binding tables (kombu 5.7 keeps "permanent" ones too).
TABLES = ("binding", "binding_permanent")
#: AMQP channels a batch of declarations and bindings is spread over (see declare_many).
LANES = 16


class Topology:
    """Names and declares the exchanges, queues and bindings of one bus namespace."""

    def __init__(
        self, namespace: str, *, routes_by_broker: bool = True, queue_type: str = "classic"
    ) -> None:
        self.namespace = namespace
        #: Whether the broker routes through exchanges (AMQP) or bus addresses queues directly.
        self.routes_by_broker = routes_by_broker
        #: What every agent queue is declared with: ``x-queue-type`` for quorum queues.
        self.queue_arguments: dict[str, Any] | None = (
            {"x-queue-type": "quorum"} if queue_type == "quorum" else None
        )
        self.direct_exchange = Exchange(f"{namespace}.direct", type="direct", durable=True)
        self._channel_exchanges: dict[str, Exchange] = {}
        self._queues: dict[str, Queue] = {}

    def channel_exchange(self, channel: str) -> Exchange:
        """The exchange of ``channel`` (cached)."""
        exchange = self._channel_exchanges.get(channel)
        if exchange is None:
            exchange = Exchange(
                f"{self.namespace}.channel.{encode_channel(channel)}", type="direct", durable=True
            )
            self._channel_exchanges[channel] = exchange
        return exchange

    @property
    def agent_queue_prefix(self) -> str:
        """What the name of every agent's queue starts with: the agent's name follows."""
        return f"{self.namespace}.agent."

    def agent_queue(self, agent: str) -> Queue:
        """The durable queue of ``agent``, bound to the direct exchange (cached)."""
        queue = self._queues.get(agent)
        if queue is None:
            queue = Queue(
                self.agent_queue_prefix + agent,
                exchange=self.direct_exchange,
                routing_key=agent,
                durable=True,
                queue_arguments=self.queue_arguments,
            )
            self._queues[agent] = queue
        return queue

    def route(self, exchange: Exchange, agent: str) -> tuple[str | Exchange, str]:
        """Where to publish a delivery for ``agent`` that goes through ``exchange``:
        ``(exchange, agent)`` on AMQP, ``("", agent's queue)`` on virtual transports."""
        if self.routes_by_broker:
            return exchange, agent
        return "", self.agent_queue(agent).name

    def declare_channel(self, connection: Connection, channel: str) -> None:
        """Declare the channel's exchange."""
        self.channel_exchange(channel)(connection.default_channel).declare()

    def declare_agent(self, connection: Connection, agent: str) -> None:
        """Declare the agent's queue and its binding to the direct exchange."""
        self.agent_queue(agent)(connection.default_channel).declare()

    def bind(self, connection: Connection, agent: str, channel: str) -> None:
        """Bind the agent's queue to the channel's exchange (declaring both)."""
        bound = self.agent_queue(agent)(connection.default_channel)
        exchange = self.channel_exchange(channel)
        exchange(connection.default_channel).declare()
        bound.bind_to(exchange=exchange, routing_key=agent)

    def declare_many(
        self,
        connection: Connection,
        agents: Sequence[str],
        bindings: Sequence[tuple[str, str]],
    ) -> None:
        """Declare the agents' queues and bind ``(agent, channel)`` pairs, in one batch.

        On AMQP every declaration and binding is sent without waiting for its answer (nowait),
        spread over :data:`LANES` channels, because RabbitMQ commits each durable binding before
        the next on a channel but works on channels concurrently (measured on RabbitMQ 3.10: 2,000
        bindings take 2.9 s on one channel, 1.0 s on eight; 500 queues 2.3 s on one, 0.8 s on
        32). Then one synchronous declaration per channel
        waits for the rest: the server answers in order and closes a channel at the first
        command that fails, which makes that last call raise. The virtual transports keep
        their state client-side or in Redis, one command each, on the default channel.
        """
        if not self.routes_by_broker:
            self._declare_each(connection.default_channel, agents, bindings, nowait=False)
            return
        if not agents and not bindings:
            return
        lanes = [
            connection.channel() for _ in range(min(LANES, 1 + (len(agents) + len(bindings)) // 50))
        ]
        try:
            count = len(lanes)
            for index, lane in enumerate(lanes):
                self._declare_each(lane, agents[index::count], (), nowait=True)
            for lane in lanes:  # queues exist before they are bound
                self.direct_exchange(lane).declare()
            for index, lane in enumerate(lanes):
                self._declare_each(lane, (), bindings[index::count], nowait=True)
            for lane in lanes:
                self.direct_exchange(lane).declare()
        finally:
            for lane in lanes:
                lane.close()

    def _declare_each(
        self,
        channel: Any,
        agents: Sequence[str],
        bindings: Sequence[tuple[str, str]],
        *,
        nowait: bool,
    ) -> None:
        # The channel's own methods, not kombu's bound entities: binding a Queue to a channel
        # copies it, which cost more than the AMQP frame itself (1.2 s per 10,000 bindings).
        direct = self.direct_exchange
        if agents:
            direct(channel).declare(nowait=nowait)
        for agent in agents:
            queue = self.agent_queue(agent).name
            channel.queue_declare(
                queue=queue,
                durable=True,
                exclusive=False,
                auto_delete=False,
                nowait=nowait,
                arguments=self.queue_arguments,
            )
            channel.queue_bind(queue=queue, exchange=direct.name, routing_key=agent, nowait=nowait)
        declared: set[str] = set()
        for agent, name in bindings:
            exchange = self.channel_exchange(name)
            if name not in declared:
                exchange(channel).declare(nowait=nowait)
                declared.add(name)
            channel.queue_bind(
                queue=self.agent_queue(agent).name,
                exchange=exchange.name,
                routing_key=agent,
                nowait=nowait,
            )

    def delete_agent(self, connection: Connection, agent: str) -> None:
        """Delete the agent's queue: its bindings and the deliveries it held go with it."""
        self.agent_queue(agent)(connection.default_channel).delete()
        self._queues.pop(agent, None)

    def unbind(self, connection: Connection, agent: str, channel: str) -> None:
        """Remove the binding of the agent's queue to the channel's exchange."""
        bound = self.agent_queue(agent)(connection.default_channel)
        bound.unbind_from(exchange=self.channel_exchange(channel), routing_key=agent)

    def destroy(self, connection: Connection, agents: list[str], channels: list[str]) -> None:
        """Delete the given agents' queues and channels' exchanges, and the direct exchange."""
        channel = connection.default_channel
        for agent in agents:
            self.agent_queue(agent)(channel).delete()
        for name in channels:
            self.channel_exchange(name)(channel).delete()
        self.direct_exchange(channel).delete()
        if connection.transport.driver_type == "redis":
            self._delete_redis_leftovers(channel.client)

    def _delete_redis_leftovers(self, client: Any) -> None:
        # kombu's Redis transport deletes a queue's bindings only if this process declared
        # them, so queues and binding tables made by other processes would stay behind.
        prefix = self.namespace
        for pattern in (
            f"{prefix}.agent.*",
            f"{prefix}.celery*",
            *(f"_kombu.{table}.{prefix}{sep}*" for table in TABLES for sep in ".-"),
        ):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)

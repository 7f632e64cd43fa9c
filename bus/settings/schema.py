"""One settings object for the whole bus, read from ``BUS_*`` environment variables.

Build it explicitly (``BusSettings()`` reads the environment, keyword arguments override it) and
pass it to :class:`bus.Bus`; nothing in bus reads the environment on its own.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import AliasChoices, Field, PositiveInt, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bus.settings.defaults import BROADCAST_CHANNELS, DEFAULT_CHANNELS


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
    #: Channels created when the bus starts (comma-separated in the environment).
    default_channels: Annotated[tuple[str, ...], NoDecode] = DEFAULT_CHANNELS
    #: Which of the default channels are broadcast channels.
    broadcast_channels: Annotated[frozenset[str], NoDecode] = BROADCAST_CHANNELS
    #: Largest accepted message, in bytes of its JSON encoding.
    max_message_bytes: PositiveInt = 256 * 1024
    #: Seconds between polls of the ``memory://`` transport while a consumer's prefetch is full
    #: (a put wakes its consumers at once: :mod:`bus.broker.memory_transport`); Redis and
    #: RabbitMQ push and ignore it.
    polling_interval: float = Field(default=0.005, gt=0, le=1)
    #: Messages an agent's consumer may hold unacknowledged.
    prefetch_count: PositiveInt = 64
    #: Messages a pull receive takes from a stream's log in one store call, handing the rest
    #: over from memory (bus.held). 1 (the default): one store call per message, and nothing
    #: is ever handed over twice. More: fewer store calls, but a process that dies holding a
    #: batch leaves it under its lease for ``lease_seconds`` and re-hands up to this many
    #: (at least once, like an unacknowledged prefetch).
    receive_batch: PositiveInt = 1
    #: Configure OpenTelemetry in ``celery -A bus worker`` processes (each prefork child after
    #: the fork) and the ``bus`` command, from the standard ``OTEL_*`` variables, exporting
    #: spans over OTLP/HTTP; needs the ``otel`` extra (``pip install 'bus[otel]'``). Off, the
    #: SDK is never imported and bus's spans cost a check each.
    otel: bool = False
    #: Publish a delivery to an agent only when none of its deliveries for the stream is
    #: outstanding: the store marks the agent signalled at the append and clears the mark when
    #: the agent's consumer finds the stream drained, so a backlog costs one delivery (one
    #: Celery task) per burst instead of one per message. Order and at-least-once are the same.
    #: On by default (``docs/decisions/0005``); ``False`` is the old mode, a task per message.
    coalesce_deliveries: bool = True

    # -- workers -------------------------------------------------------------------------------
    #: Modules that define the agents workers host (comma-separated in the environment).
    agent_modules: Annotated[tuple[str, ...], NoDecode] = ("workers.company", "workers.researcher")
    #: Agents this worker hosts, by name; empty hosts every agent the modules define.
    agents: Annotated[tuple[str, ...], NoDecode] = ()
    #: Retries of a failing handler before its message goes to the dead-letter channel.
    max_retries: int = Field(default=3, ge=0)
    #: Seconds before the first retry; doubled at each further one.
    retry_backoff: float = Field(default=1.0, ge=0)
    #: Longest wait between two retries, in seconds.
    retry_backoff_max: float = Field(default=60.0, ge=0)
    #: Channel that receives messages whose handlers kept failing.
    dead_letter_channel: str = "#dead-letters"
    #: Seconds an ``async def`` handler may run before it is cancelled and the attempt counts
    #: as failed ("timed out after N s": retried, then dead-lettered); an agent can set its own
    #: (``Agent(timeout=...)``). A sync handler cannot be stopped from outside its thread: one
    #: that overruns is logged, and its stream waits for it (see docs/decisions/0002).
    handler_timeout: float = Field(default=240.0, gt=0)
    #: Prefork only: seconds a delivery task may run before Celery kills the child process
    #: (Celery's hard time limit, which the threads and solo pools do not enforce).
    handler_time_limit: float = Field(default=300.0, gt=0)
    #: Seconds SIGTERM gives running handlers to finish before they are cancelled (their
    #: messages are handled again by the next worker: at-least-once).
    shutdown_grace: float = Field(default=30.0, ge=0)
    #: Pool threads of ``celery -A bus worker`` when ``--concurrency`` is not given. A delivery
    #: task only starts its stream's handler run and waits for its own message, while handlers
    #: run on the worker process's event loop, so threads are cheap and one per busy stream
    #: lets every agent start at once (see docs/decisions/0002-agent-runtime.md).
    worker_concurrency: PositiveInt = 256
    #: Threads that run plain (sync) handlers in each worker process.
    sync_handler_threads: PositiveInt = 64
    #: Redis only: seconds before a delivery whose worker vanished is delivered again. It must be
    #: longer than any handler runs, or a slow handler's delivery is handed out twice.
    visibility_timeout: float = Field(default=600.0, gt=0)
    #: Seconds a worker's claim on an agent's stream lasts unless renewed (every third of it).
    #: A worker that dies is noticed sooner (``liveness_seconds``); this bounds the wait for
    #: a live worker's lease that stopped being renewed.
    lease_seconds: float = Field(default=30.0, gt=0)
    #: Seconds between a worker process's beats: its liveness record in the store.
    heartbeat_seconds: float = Field(default=1.0, gt=0)
    #: Seconds a worker's liveness record lasts after its last beat. Once it lapsed (the worker
    #: was killed, hung, or cut off from the store) its leases are free and the other workers
    #: resume its streams at once. Shorter: faster recovery; longer: a worker paused that long
    #: (GC, an overloaded host) is not taken over while its handler still runs.
    liveness_seconds: float = Field(default=3.0, gt=0)
    #: Seconds the store remembers a publish's idempotency key: a retry with the same key
    #: within it is not stored again and answers the first publish's seq.
    dedupe_window_seconds: float = Field(default=120.0, gt=0)
    #: The name of the Redis master that the sentinels of a ``sentinel://`` broker or store URL
    #: watch (``sentinel://host:port;sentinel://host:port``, kombu's form): required with such a
    #: URL; kombu gets it as ``broker_transport_options['master_name']``, the store asks the
    #: sentinels for it (redis-py's ``Sentinel.master_for``) and follows a failover.
    sentinel_master: str | None = None
    #: Redis store: replicas that must have a message before a publish returns (Redis ``WAIT``
    #: after the append, on the same connection). 0 (the default) waits for none and costs
    #: nothing; with 1 or more a publish that the replicas did not confirm within
    #: ``store_replica_timeout`` raises ``NotReplicated`` (the message may still be stored, and
    #: its idempotency key is: retry with the same key). See docs/operations.md (Sentinel).
    store_min_replicas: int = Field(default=0, ge=0)
    #: Seconds a publish waits for ``store_min_replicas`` replicas (fractions allowed; ``WAIT``
    #: takes whole milliseconds).
    store_replica_timeout: float = Field(default=1.0, gt=0, le=60)
    #: Seconds between a worker's checks for messages whose deliveries never arrived.
    sweep_interval: float = Field(default=30.0, gt=0)
    #: RabbitMQ only: the type of the agents' queues. ``classic`` (the default) or ``quorum``:
    #: replicated by Raft over the cluster's nodes, so a delivery a publisher confirm covered
    #: survives the loss of a minority of them (publisher confirms are on with it, and Celery's
    #: consumers use per-consumer prefetch: quorum queues have no global QoS). An existing
    #: queue keeps its type: change it on a new namespace, or after deleting the queues.
    queue_type: Literal["classic", "quorum"] = "classic"
    #: Deliveries a worker process reserves ahead (Celery's ``worker_prefetch_multiplier``).
    #: Order and at-least-once do not depend on it. With 1, Celery 5.7 workers on RabbitMQ
    #: were seen to stall up to 10 s each time their prefetch window filled.
    worker_prefetch_multiplier: int = Field(default=4, ge=1)
    #: Whether workers send task events from the start, so Flower sees every delivery (Flower
    #: can also switch them on, but misses what ran before). Each event is one more publish.
    worker_events: bool = True
    #: Worker pool for ``celery -A bus worker`` when ``--pool`` is not given: ``threads`` (the
    #: handlers of I/O-bound agents overlap on one event loop per process). ``prefork`` is for
    #: CPU-bound agents (one loop per child process); never prefork on memory://, whose state
    #: lives in one process.
    worker_pool: str = Field(default="threads", pattern=r"^(threads|prefork|solo)$")
    #: Log lines as ``text`` (with agent, channel, seq and message id on delivery lines) or as
    #: ``json``, one object per line for log collectors (see :mod:`bus.settings.logs`).
    log_format: str = Field(default="text", pattern=r"^(text|json)$")

    # -- identity and access (docs/security.md) ------------------------------------------------
    #: ``off``: senders are free strings (the quick start). ``required``: every message is signed
    #: by its sender's credentials and verified by every consumer; permissions and quotas apply.
    auth: Literal["off", "required"] = "off"
    #: The operator root's Ed25519 public key: base64 of its 32 bytes, or the path of a file that
    #: holds it. The anchor of all trust, so it comes from configuration, never from the store.
    root_public_key: str | None = None
    #: Path of this process's credentials file (one identity's private key and certificate).
    credentials: str | None = None
    #: A directory of credentials files, one per agent this process may also speak as (a worker
    #: hosting several agents signs each agent's messages with that agent's own key).
    credentials_dir: str | None = None
    #: Seconds between two reads of the signed policy (and revocations) from the store: how long
    #: a running process may still honour a revoked key or a withdrawn permission.
    auth_refresh_seconds: float = Field(default=5.0, gt=0)
    #: Messages per second one identity may publish, across all its processes (a token bucket
    #: in the store); 0: no limit. Applies only when ``auth`` is ``required``.
    publish_rate: float = Field(default=50.0, ge=0, allow_inf_nan=False)
    #: How many messages one identity may publish at once before ``publish_rate`` applies.
    publish_burst: PositiveInt = 100

    # -- guards: keeping agents in bounds (docs/safety.md) -------------------------------------
    #: Longest causation chain (``hops``: a message a handler sends is its cause's hops + 1) a
    #: publish may extend; beyond it ``HopLimitExceeded`` (a handler's message is dead-lettered).
    #: A channel (``ChannelSpec.max_hops``) or an agent (``Agent(max_hops=...)``) may set its
    #: own. 0: off.
    max_hops: int = Field(default=32, ge=0)
    #: Messages per second one sender may keep sending to one agent, or to one channel, before
    #: the pair's circuit opens (``CircuitOpen``); a token bucket kept in the store, updated in
    #: the append step. 0: off. The default never trips a legitimate agent: 500/s sustained is
    #: more than an LLM agent does, and ``pair_burst`` covers a batch of 5000 at once.
    pair_rate: float = Field(default=500.0, ge=0, allow_inf_nan=False)
    #: How many messages a sender may send to one agent or channel at once (the bucket's size).
    pair_burst: PositiveInt = 5000
    #: Seconds an open circuit refuses; the next send after it is a trial that closes it (and
    #: if the flood goes on, the bucket empties and it opens again).
    pair_cooldown: float = Field(default=30.0, gt=0)
    #: Messages an agent may have unread across its streams (``head - position``) before a
    #: direct message or request to it is refused (``AgentOverloaded``) and a channel publish
    #: follows the channel's overflow (reject-publish: refused; drop-oldest: stored, the
    #: member marked ``overloaded`` in its receipts). ``Agent(max_pending=...)`` overrides it.
    #: 0: off.
    max_pending: int = Field(default=10_000, ge=0)
    #: Tokens one agent may spend (the ``metadata.tokens_used`` of what it publishes, and what
    #: its handlers report with ``ctx.report_usage``) per ``budget_window`` seconds; over it,
    #: its publishes are refused (``BudgetExceeded``). 0: no budget (the default).
    budget_tokens: int = Field(default=0, ge=0)
    #: Cost (``metadata.cost``) one agent may spend per ``budget_window``. 0: no budget.
    budget_cost: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    #: Seconds of one budget window (fixed windows, aligned to the epoch: hourly by default).
    budget_window: float = Field(default=3600.0, gt=0)
    #: A channel that gets an event message (type ``guard.circuit``, sender ``bus`` or this
    #: process's identity) each time a pair's circuit opens or closes; it must exist (create
    #: it). ``None``: the events are logged only (WARNING, logger ``bus.publishing``).
    guard_events_channel: str | None = None

    @field_validator(
        "default_channels", "broadcast_channels", "agent_modules", "agents", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _liveness_outlasts_beats(self) -> Self:
        if self.liveness_seconds < 2 * self.heartbeat_seconds:
            raise ValueError(
                f"liveness_seconds ({self.liveness_seconds} s) must be at least twice "
                f"heartbeat_seconds ({self.heartbeat_seconds} s), or one late beat makes a live "
                "worker look dead"
            )
        return self

    @model_validator(mode="after")
    def _visibility_outlasts_handlers(self) -> Self:
        if self.visibility_timeout <= self.handler_time_limit:
            raise ValueError(
                f"visibility_timeout ({self.visibility_timeout} s) must be longer than "
                f"handler_time_limit ({self.handler_time_limit} s), or Redis hands a running "
                "delivery to a second worker"
            )
        return self

"""Every Redis key of one bus namespace, named in one place.

All keys start with ``{<namespace>}:``. The braces are a Redis Cluster hash tag: every key of a
namespace hashes to one slot, so each Lua script, which gets every key it touches through
KEYS, runs on one node of a cluster and stays atomic. The trade: a bus lives on one cluster
node (a cluster spreads buses, not one bus). A tag per stream would spread one bus, but
registering an agent, creating a broadcast channel and :meth:`~bus.store.LogStore.claim_any`
span streams, so they would stop being atomic single scripts.
"""

from __future__ import annotations


class Keys:
    """The key names of one namespace.

    Args:
        namespace: The bus's namespace (``BusSettings.namespace``: no braces).
    """

    def __init__(self, namespace: str) -> None:
        #: What every key starts with.
        self.prefix = f"{{{namespace}}}:"
        #: Hash: channel name -> spec JSON.
        self.channels = self.prefix + "channels"
        #: Set: names of the broadcast channels.
        self.broadcast = self.prefix + "broadcast"
        #: Set: registered agents.
        self.agents = self.prefix + "agents"
        #: Hash: stream id -> last seq; and field ``""`` (no stream's id): how many seqs every
        #: stream's head moved up in all (appends, pushed receipts, fences), the clock of
        #: :attr:`unread_bounds`.
        self.heads = self.prefix + "heads"
        #: String: the epoch, a random id written when a bus first uses the namespace. The
        #: scripts that append and hand messages over check it, so a store that lost its state
        #: (restarted empty, failed over to an empty replica) is noticed at once.
        self.epoch = self.prefix + "epoch"
        #: Hash: message id -> ``"<stream> <seq> <causation id> <append ms> <sender>"`` (the
        #: causation id may be empty), for every retained message appended with its id, and for
        #: a while for trimmed ones (:meth:`trimmed`): the one message index, of ``find``,
        #: ``caused`` and receipts.
        self.located = self.prefix + "located"
        #: Sorted set, all scores 0: ``"<causation id> <message id>"`` per retained message
        #: that has a cause, so a lexical range lists what one message caused.
        self.caused = self.prefix + "caused"
        #: List: JSON of each fence (the newest 1000): seqs of a stream lost in a failover
        #: after clients saw them acknowledged, burnt so no other message gets them
        #: (``fence.lua``).
        self.fences = self.prefix + "fences"
        #: String: written (and waited on) when a publish found its idempotency key used, so
        #: ``WAIT`` covers the first append too (``BUS_STORE_MIN_REPLICAS``).
        self.replicated = self.prefix + "replicated"
        #: Hash: worker id -> ``"<alive until ms>:<last seen ms>"`` (the server's clock).
        self.alive = self.prefix + "alive"
        #: Hash: worker id -> JSON list of the agents it hosts.
        self.workers = self.prefix + "workers"
        #: Hash: agent -> ``1`` (or ``hosted``: a worker's run reads its inbox until drained)
        #: for each agent that consumes pushed receipts (its opt-in: the advance step reads it
        #: for the committed message's sender).
        self.receipt_consumers = self.prefix + "receipt_consumers"
        #: Hash: ``"<sender>\n<target>"`` -> ``"<tokens> <last ms> <open until ms or 0>"``: the
        #: guards' bucket and circuit of each pair (``lua/guards.lua``).
        self.circuits = self.prefix + "circuits"
        #: Hash: agent -> ``"<window start ms> <tokens> <cost>"``: its spend in its last window.
        self.spend = self.prefix + "spend"
        #: Hash: agent -> ``"<max hops> <max pending> <budget tokens> <budget cost>"`` (``-``:
        #: the bus's setting): the limits an agent set for itself.
        self.limits = self.prefix + "limits"
        #: Hash: agent -> ``B``, its pending count being at most ``<heads' "" field> - B``
        #: (set when the guards last counted it: a head moving up moves both, a read lowers only
        #: the count), so an append counts again only the members the bound cannot clear.
        self.unread_bounds = self.prefix + "unread_bounds"

    @property
    def pattern(self) -> str:
        """A SCAN pattern matching every key of the namespace."""
        return "".join("\\" + c if c in "*?[]\\" else c for c in self.prefix) + "*"

    def members(self, channel: str) -> str:
        """Set: the channel's members."""
        return f"{self.prefix}members:{channel}"

    def positions(self, agent: str) -> str:
        """Hash: stream id -> the last seq handed to the agent."""
        return f"{self.prefix}pos:{agent}"

    def log(self, stream: str) -> str:
        """List: the stream's retained entries, ``"<append ms>:<json>"``, oldest first."""
        return f"{self.prefix}log:{stream}"

    def indexed(self, stream: str) -> str:
        """List: ``"<message id> <causation id>"`` (either may be empty) of the stream's newest
        entries, oldest first: what the causation index holds for them, trimmed with the log."""
        return f"{self.prefix}indexed:{stream}"

    def dedupe(self, stream: str, key: str) -> str:
        """String with a TTL: the seq of the message appended with idempotency ``key``."""
        return f"{self.prefix}dedupe:{stream}:{key}"

    def failures(self, agent: str) -> str:
        """Hash: stream id -> ``"<seq>:<attempts>:<not before ms>"`` of the agent."""
        return f"{self.prefix}fail:{agent}"

    def signals(self, stream: str) -> str:
        """Hash: agent -> the seq whose delivery woke it on the stream and is outstanding
        (coalesced deliveries: no other is published until the agent finds the stream drained)."""
        return f"{self.prefix}signals:{stream}"

    def trimmed(self, stream: str) -> str:
        """List: ``"<seq> <message id>"`` of the stream's messages retention trimmed whose ids
        :attr:`located` still keeps (for receipts), oldest first."""
        return f"{self.prefix}trimmed:{stream}"

    def audience(self, stream: str) -> str:
        """List: ``"<from seq>\n<member>\n<member>..."`` each time the channel's members at
        an append differed from the last record, oldest first."""
        return f"{self.prefix}audience:{stream}"

    def notes(self, stream: str) -> str:
        """Hash: ``"<first seq>-<last seq>\n<agent>"`` -> a note's JSON: what went otherwise
        for that agent (a failure, dead letter, refusal, skip)."""
        return f"{self.prefix}notes:{stream}"

    def started(self, stream: str) -> str:
        """Hash: agent -> ``"<seq>:<ms>:<token>"``: the message its run last started on, when, and
        the run's lease token (a takeover of a dead worker's run on it counts an attempt)."""
        return f"{self.prefix}started:{stream}"

    def lease(self, agent: str, stream: str) -> str:
        """String with a TTL: the token holding the agent's lease on the stream."""
        return f"{self.prefix}lease:{agent}:{stream}"

    def waiter(self, correlation_id: str) -> str:
        """String with a TTL: who may reply to the request."""
        return f"{self.prefix}waiting:{correlation_id}"

    def reply(self, correlation_id: str) -> str:
        """List with a TTL: the replies that arrived."""
        return f"{self.prefix}reply:{correlation_id}"

    @property
    def answers(self) -> str:
        """Hash: cause id -> the replies handed to a waiting requester that it caused (their
        JSON, one per line), kept for ``bus trace``."""
        return f"{self.prefix}answers"

    @property
    def answer_of(self) -> str:
        """Hash: reply id -> the cause it is kept under in :attr:`answers`."""
        return f"{self.prefix}answer-of"

    @property
    def answered(self) -> str:
        """List of ``"<cause> <reply id>"``, oldest first: what :attr:`answers` keeps, in the
        order it is dropped."""
        return f"{self.prefix}answered"

"""The state every part of a :class:`~bus.store.redis.RedisStore` shares: one bus namespace on
one Redis server.

:class:`RedisNamespace` holds the client, the namespace's key names, the loaded scripts and the
epoch this process adopted; :meth:`RedisNamespace.run` is how a part calls a script, and turns
the script's reset refusal into :class:`~bus.errors.StoreReset`. :func:`refusal` turns the
refusals of a write to a channel into the bus's errors.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import NoScriptError, ResponseError

from bus.channels import ChannelSpec
from bus.errors import ChannelChanged, UnknownChannel, rejected
from bus.settings.replication import Replication
from bus.store.redis.connection import connect, replica_reached
from bus.store.redis.key_names import Keys
from bus.store.redis.scripts import PRELUDES, source
from bus.store.redis.watch import EpochWatch
from bus.store.results import Entry

#: What a script answers when the keys it was given are out of date: read them again, retry.
STALE = -1


class RedisNamespace:
    """One namespace of one Redis server, as the store's parts use it.

    Args:
        url: The server's URL (``redis://``, ``rediss://`` or ``unix://``).
        namespace: The bus's namespace (``BusSettings.namespace``).
        replication: The sentinels' master name, and the replicas a publish waits for.
    """

    def __init__(self, url: str, namespace: str, replication: Replication | None = None) -> None:
        self.replication = replication or Replication()
        self.client = connect(url, self.replication.sentinel_master)
        #: The server's URL, password masked.
        self.url = self.client.url
        self.keys = Keys(namespace)
        self.epochs = EpochWatch(self.url)
        self._scripts = {name: self.client.register_script(source(name)) for name in PRELUDES}

    def run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        """Run one of :data:`~bus.store.redis.scripts.PRELUDES` (one round trip).

        Raises:
            StoreReset: the script found another epoch than the adopted one.
        """
        try:
            return self._scripts[script](keys=keys, args=args)
        except ResponseError as exc:
            raise self._refused(exc) from None

    def run_moving(self, script: str, keys: list[str], args: list[Any]) -> Any:
        """:meth:`run` for a step that moves a member's position (a commit, a claim): with
        ``min_replicas`` it waits for the replicas too, in the same round trip, so that a
        failover hands a member again at most the message in hand, not every move the replica
        had not copied yet. Best effort: too few replicas is not an error here (the member
        already has the message)."""
        if not self.replication.min_replicas:
            return self.run(script, keys, args)
        return self.run_replicated(script, keys, args)[0]

    def run_replicated(self, script: str, keys: list[str], args: list[Any]) -> tuple[Any, int]:
        """:meth:`run`, then Redis ``WAIT`` for ``min_replicas`` on the same connection (one
        round trip): the script's answer, and how many replicas have its writes.

        Raises:
            StoreReset: the script found another epoch than the adopted one.
        """
        wanted, timeout = self.replication.min_replicas, self.replication.replica_timeout_ms
        code = self._scripts[script]
        for _ in range(2):
            with self.client.pipeline(transaction=False) as pipe:
                pipe.evalsha(code.sha, len(keys), *keys, *args)
                pipe.wait(wanted, timeout)
                answer, replicas = pipe.execute(raise_on_error=False)
            if isinstance(answer, NoScriptError):  # a restarted or promoted server: load it
                self.client.script_load(code.script)
                continue
            if isinstance(answer, ResponseError):
                raise self._refused(answer) from None
            if isinstance(replicas, Exception):
                raise replicas
            return answer, int(replicas)
        raise answer

    def _refused(self, exc: ResponseError) -> Exception:
        """What a script's error reply means: its reset refusal is a StoreReset; a replica's
        (the server is not the master: see ``epoch.lua``) is StoreUnavailable, and the
        client's connections are dropped, so the next call asks the sentinels again."""
        text = str(exc)
        if text.startswith("BUSRESET"):
            return self.epochs.reset(text[len("BUSRESET") :].strip() or None)
        if text.startswith("BUSREPLICA"):
            return replica_reached(self.client)
        return exc

    def wait_replicas(self, key: str) -> int:
        """Write ``key`` and ``WAIT`` for ``min_replicas`` on one connection: how many replicas
        have every write before it (an earlier append on another connection included)."""
        wanted, timeout = self.replication.min_replicas, self.replication.replica_timeout_ms
        with self.client.pipeline(transaction=False) as pipe:
            pipe.set(key, "1")
            pipe.wait(wanted, timeout)
            return int(pipe.execute()[1])


def refusal(exc: ResponseError, channel: ChannelSpec | None) -> Exception:
    """The error for a write to ``channel`` that the script refused."""
    text = str(exc)
    if channel is not None and text.startswith("BUSUNKNOWN"):
        return UnknownChannel(f"no channel named {channel.name!r}", channel=channel.name)
    if channel is not None and text.startswith("BUSCHANGED"):
        stored = ChannelSpec.model_validate_json(text[len("BUSCHANGED") :].strip())
        return ChannelChanged(
            f"channel {channel.name!r} changed to version {stored.version}",
            channel=channel.name,
            spec=stored,
        )
    if channel is not None and text.startswith("BUSREJECT"):
        return rejected(channel, text[len("BUSREJECT") :].strip().split(","))
    return exc


def entry_of(stream: str, seq: Any, raw: str, skipped: Any = 0) -> Entry:
    """An :class:`~bus.store.results.Entry` from a log entry ``"<append ms>:<json>"``."""
    return Entry(stream, int(seq), raw[raw.index(":") + 1 :], int(skipped))

"""The signed guard: what a bus with ``BUS_AUTH=required`` lets through (docs/security.md).

A process acts with the credentials it holds: its own (``BUS_CREDENTIALS``) and, for a worker
that hosts several agents, one file per hosted agent (``BUS_CREDENTIALS_DIR``). Each outgoing
message is signed by the key of its ``sender``, so a process can speak only as the identities
whose private keys it holds; every message it reads is verified against the stream it was read
from, whoever wrote it there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from bus.access.guard import Action, Guard, refuse_other_sender
from bus.access.letters import carries_letter, original_of
from bus.access.speaking import speaker
from bus.auth.certificates import Credentials, Identity, confine_keys
from bus.auth.quota import PublishQuota, open_buckets
from bus.auth.signing import sign, verify
from bus.auth.storage import open_auth_store
from bus.auth.trust import Trust
from bus.channels import Stream
from bus.errors import AuthenticationFailed, BusError, ConfigurationError, PermissionDenied
from bus.message import Message
from bus.settings import BusSettings
from bus.settings.transports import resolve_store_url

log = logging.getLogger(__name__)


def load_credentials(settings: BusSettings) -> list[Credentials]:
    """The credentials a process holds: ``BUS_CREDENTIALS`` first, then every ``*.json`` file
    of ``BUS_CREDENTIALS_DIR`` (sorted).

    Raises:
        ConfigurationError: neither is set, a file cannot be used, or two hold one name.
    """
    held: list[Credentials] = []
    if settings.credentials:
        held.append(Credentials.load(settings.credentials))
    if settings.credentials_dir:
        directory = Path(settings.credentials_dir)
        if not directory.is_dir():
            raise ConfigurationError(
                f"BUS_CREDENTIALS_DIR {directory} is not a directory", path=str(directory)
            )
        held.extend(Credentials.load(path) for path in sorted(directory.glob("*.json")))
    if not held:
        raise ConfigurationError(
            "BUS_AUTH=required needs BUS_CREDENTIALS (or BUS_CREDENTIALS_DIR)",
            setting="credentials",
        )
    names = [credentials.identity.name for credentials in held]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        raise ConfigurationError(
            f"credentials for {', '.join(doubled)} are given twice", agents=doubled
        )
    return held


class SignedGuard(Guard):
    """Stamps, signs, rate-limits what goes out; verifies and permission-checks what comes in.

    Args:
        trust: The root key, the current policy and the checked certificates.
        credentials: What this process holds; the first is its own identity (dead letters and
            channel histories are read and written as it), the others the agents it hosts.
        quota: The publish rate each identity is held to.

    Raises:
        ConfigurationError: no credentials, or one not signed by the configured root.
    """

    def __init__(
        self, trust: Trust, credentials: Iterable[Credentials], quota: PublishQuota
    ) -> None:
        held = list(credentials)
        if not held:
            raise ConfigurationError("a signed guard needs credentials", setting="credentials")
        for each in held:
            try:
                trust.add_certificate(each.certificate)
            except AuthenticationFailed as exc:
                raise ConfigurationError(
                    f"the credentials of {each.identity.name!r} are not signed by the root key "
                    "in BUS_ROOT_PUBLIC_KEY",
                    agent=each.identity.name,
                    reason=exc.context.get("reason"),
                ) from None
        self.trust = trust
        self.quota = quota
        self._own = held[0]
        self._held = {each.identity.name: each for each in held}
        self.identity = self._own.identity.name
        self._confined_keys: list[str] = []

    @classmethod
    def from_settings(cls, settings: BusSettings) -> SignedGuard:
        """The guard the settings describe (``root_public_key``, ``credentials``,
        ``credentials_dir``, ``auth_refresh_seconds``, ``publish_rate``, ``publish_burst``).

        Raises:
            ConfigurationError: a setting is missing or its file cannot be used.
        """
        url = resolve_store_url(settings.broker_url, settings.store_url)
        held = load_credentials(settings)
        master = settings.sentinel_master
        trust = Trust.from_settings(settings, open_auth_store(url, settings.namespace, master))
        quota = PublishQuota.from_settings(settings, open_buckets(url, settings.namespace, master))
        return cls(trust, held, quota)

    @property
    def names(self) -> list[str]:
        """The identities this process may speak as, sorted."""
        return sorted(self._held)

    def confine(self, agents: Iterable[str]) -> None:
        """Let the keys of ``agents`` sign only inside their own bound-bus calls, in this
        process, until :meth:`release` (the process's own key is never confined)."""
        keys = [
            held.identity.key_id
            for held in (self._held.get(name) for name in agents)
            if held is not None and held is not self._own
        ]
        confine_keys(keys)
        self._confined_keys.extend(keys)

    def release(self) -> None:
        """Undo :meth:`confine` (the worker stops)."""
        keys, self._confined_keys = self._confined_keys, []
        confine_keys(keys, release=True)

    def _acting(self, agent: str | None, *, reading: bool = False) -> Identity:
        """Who acts for ``agent``: inside an agent's bound-bus call, that agent, for itself
        only (``reading`` another's stream, it reads as itself); otherwise the agent itself if
        this process holds its key, else the process's own identity (an operator may act for
        others, an agent only for itself)."""
        speaking = speaker()
        if speaking is not None:
            held = self._held.get(speaking)
            if held is None or (agent not in (None, speaking) and not reading):
                raise self._refused(
                    PermissionDenied(
                        f"agent {speaking!r} may not act for {agent or 'this process'!r}: a "
                        "handler acts only as its own agent",
                        identity=speaking,
                        agent=agent,
                    )
                )
            return held.identity
        held = self._held.get(agent) if agent is not None else None
        return (held or self._own).identity

    def _refused(self, exc: BusError) -> BusError:
        # The caller gets the error; the log is for the audit trail, not the caller's screen.
        log.info("refused: %s", exc)
        return exc

    def outgoing(self, message: Message) -> Message:
        """Sign ``message`` with its sender's key after the policy and the quota allow it.

        Raises:
            PermissionDenied: this process holds no key for ``message.sender``, or the policy
                does not let the sender publish there (``identity``, ``action``, ``channel``
                or ``recipient`` in the context). RateLimited: the sender's quota is spent.
            AuthenticationFailed: ``no_policy``. Nothing is charged or signed then.
        """
        try:
            refuse_other_sender(message.sender)
        except PermissionDenied as exc:
            raise self._refused(exc) from None
        credentials = self._held.get(message.sender)
        if credentials is not None and credentials.confined and speaker() != message.sender:
            raise self._refused(
                PermissionDenied(
                    f"{message.sender!r} is an agent this worker hosts: only its own handlers "
                    "may send as it (through the bus they are handed)",
                    identity=self.identity,
                    action="publish",
                    sender=message.sender,
                )
            )
        target: str | Stream
        where: dict[str, object]
        if message.recipient is not None:
            target, where = Stream.of_inbox(message.recipient), {"recipient": message.recipient}
        else:
            target, where = message.channel or "", {"channel": message.channel}
        if credentials is None:
            raise self._refused(
                PermissionDenied(
                    f"{self.identity!r} may not publish as {message.sender!r}: this process "
                    f"holds no credentials for it",
                    identity=self.identity,
                    action="publish",
                    sender=message.sender,
                    **where,
                )
            )
        try:
            self.trust.policy.check(credentials.identity, "publish", target)
            self.quota.charge(credentials.identity.name)
        except BusError as exc:
            raise self._refused(exc) from None
        return sign(message, credentials)

    def check(
        self, action: Action, stream: Stream, *, agent: str | None = None, history: bool = False
    ) -> None:
        """Raise unless the identity acting for ``agent`` may do ``action`` on ``stream``: an
        agent reads only its own inbox, an operator any; channels as the policy says. The
        history of another's inbox (``history``) is open to an unrevoked identity:
        :meth:`visible` then shows it only the direct messages it sent.

        Raises:
            PermissionDenied: naming ``identity``, ``action`` and ``channel`` (or
                ``recipient``); ``reason='revoked'`` for a revoked identity.
                AuthenticationFailed: ``no_policy``.
        """
        identity = self._acting(agent, reading=history)
        policy = self.trust.policy
        revoked = policy.is_revoked(identity.key_id)
        if history and stream.is_direct and not revoked:
            return
        if revoked:  # whatever else is wrong, the refusal says this first
            try:
                policy.check(identity, action.value, stream)
            except BusError as exc:
                raise self._refused(exc) from None
        if agent is not None and agent != identity.name and not identity.is_operator:
            where = {"recipient": stream.owner} if stream.is_direct else {"channel": stream.channel}
            raise self._refused(
                PermissionDenied(
                    f"{identity.name!r} may not {action.value} for agent {agent!r}: only an "
                    "operator acts for other agents",
                    identity=identity.name,
                    action=action.value,
                    agent=agent,
                    **where,
                )
            )
        try:
            self.trust.policy.check(identity, action.value, stream)
        except BusError as exc:
            raise self._refused(exc) from None

    def admit(self, message: Message, stream: Stream, *, agent: str | None = None) -> None:
        """Raise unless ``message`` verifies as read from ``stream`` and the identity acting for
        ``agent`` may read that stream.

        Raises:
            AuthenticationFailed: a ``reason`` of :func:`~bus.auth.signing.verify`, or
                ``not_permitted``: the reader may not read ``stream``.
        """
        verify(message, stream, self.trust)
        identity = self._acting(agent, reading=True)
        policy = self.trust.policy
        if policy.is_revoked(identity.key_id):
            raise AuthenticationFailed(
                f"message {message.id} of {stream.id} refused: the key of {identity.name!r}, "
                "its reader, is revoked",
                reason="revoked",
                message_id=str(message.id),
                identity=identity.name,
                stream=stream.id,
            )
        readable = (
            policy.may_read(identity, message)
            if stream.is_direct
            else policy.allows(identity, "subscribe", stream)
        )
        if not readable:
            raise AuthenticationFailed(
                f"message {message.id} of {stream.id} refused: {identity.name!r} may not read "
                f"{stream.id}",
                reason="not_permitted",
                message_id=str(message.id),
                sender=message.sender,
                identity=identity.name,
                stream=stream.id,
            )

    def visible(self, message: Message, *, agent: str | None = None) -> bool:
        """Whether the identity acting for ``agent`` may see ``message``: a direct message its
        sender, recipient and operators; a dead letter operators and those who may read the
        message it carries (one whose record cannot be read: operators only)."""
        identity = self._acting(agent, reading=True)
        policy = self.trust.policy
        if message.recipient is not None and not policy.may_read(identity, message):
            return False
        if not carries_letter(message) or identity.is_operator:
            return True
        original = original_of(message)
        return original is not None and policy.may_read(identity, original)

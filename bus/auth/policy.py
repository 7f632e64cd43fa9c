"""The policy: who may publish and subscribe where, and which keys are revoked.

One root-signed, versioned document holds both, so one version number protects permissions and
revocations together against roll-back (see :class:`bus.auth.trust.Trust`).

Principals in a rule: a name (``ceo``), a name pattern (``team-*``), a role (``role:operator``),
``*`` (every valid identity), or any of these after ``!``, which excludes and wins over every
inclusion. ``*`` in a channel key or a name pattern matches any run of characters.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, Field, NonNegativeInt

from bus.auth.certificates import Identity
from bus.auth.keypairs import Ed25519PublicKey, RootKey, b64decode, canonical, verifies
from bus.channels import Stream
from bus.errors import AuthenticationFailed, PermissionDenied
from bus.message import FrozenModel, Message

#: Domain of the policy's root signature.
POLICY_DOMAIN = "bus-policy-v1"

Action = Literal["publish", "subscribe"]
#: A channel name, or an agent's inbox (``Stream.of_inbox``) for direct messages.
Target = str | Stream

EVERYONE = "*"
OPERATORS = "role:operator"


class Rule(FrozenModel):
    """Who may do what on the channels a rule covers; ``None`` falls back to the default rule."""

    publish: tuple[str, ...] | None = None
    #: Subscribing also covers reading the channel's history.
    subscribe: tuple[str, ...] | None = None

    def of(self, action: Action) -> tuple[str, ...] | None:
        """The principals listed for ``action``."""
        return self.publish if action == "publish" else self.subscribe


@functools.lru_cache(maxsize=1024)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)


def matches(pattern: str, value: str) -> bool:
    """Whether ``value`` matches ``pattern``, where ``*`` is any run of characters."""
    return pattern == value if "*" not in pattern else bool(_pattern(pattern).fullmatch(value))


def _names(principal: str, identity: Identity) -> bool:
    if principal.startswith("role:"):
        return identity.role == principal[len("role:") :]
    return matches(principal, identity.name)


def admitted(principals: tuple[str, ...], identity: Identity) -> bool:
    """Whether ``principals`` include ``identity`` and no ``!`` entry excludes it."""
    if any(p.startswith("!") and _names(p[1:], identity) for p in principals):
        return False
    return any(not p.startswith("!") and _names(p, identity) for p in principals)


class Policy(FrozenModel):
    """Permissions per channel, the default, who may send direct messages, revoked keys."""

    #: Raised by one at each change; a :class:`~bus.auth.trust.Trust` never goes back.
    version: NonNegativeInt = 0
    issued_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    #: After this instant the policy is refused (bounds roll-back for fresh processes).
    not_after: AwareDatetime | None = None
    #: For channels no entry of :attr:`channels` matches, and actions an entry leaves out.
    default: Rule = Rule(publish=(EVERYONE,), subscribe=(EVERYONE,))
    #: Channel name or pattern -> rule. An exact name wins over patterns; of the patterns that
    #: match, the one with the most literal characters (then the greatest) wins. An action a
    #: rule leaves out (``None``) falls to the next rule that matches, then to the default.
    channels: dict[str, Rule] = Field(default_factory=dict)
    #: Who may send direct messages.
    direct_send: tuple[str, ...] = (EVERYONE,)
    #: Key ids no longer trusted, sorted.
    revoked: tuple[str, ...] = ()

    @classmethod
    def initial(cls) -> Policy:
        """The first policy ``admin`` publishes: every identity may publish and subscribe
        everywhere, except that only operators publish on ``#all-hands``."""
        return cls(channels={"#all-hands": Rule(publish=(OPERATORS,))})

    def rule_keys(self, channel: str) -> list[str]:
        """The keys of :attr:`channels` whose rules cover ``channel``, most specific first: the
        exact name, then the patterns with the most literal characters (ties: the greatest)."""
        patterns = [key for key in self.channels if "*" in key and matches(key, channel)]
        patterns.sort(key=lambda key: (len(key.replace("*", "")), key), reverse=True)
        return ([channel] if channel in self.channels else []) + patterns

    def principals(self, action: Action, channel: str) -> tuple[str, ...]:
        """Who may do ``action`` on ``channel``, as listed by the most specific rule that lists
        the action (the default if none does)."""
        for key in self.rule_keys(channel):
            listed = self.channels[key].of(action)
            if listed is not None:
                return listed
        return self.default.of(action) or ()

    def is_revoked(self, key_id: str) -> bool:
        """Whether the key is revoked."""
        return key_id in self.revoked

    def allows(self, identity: Identity, action: Action, target: Target) -> bool:
        """Whether ``identity`` may do ``action`` on ``target``.

        Args:
            identity: who acts (a revoked key may do nothing).
            action: ``publish`` (for an inbox: send it a direct message) or ``subscribe``
                (receive from it and read its history).
            target: a channel name, or ``Stream.of_inbox(agent)`` for an agent's direct
                messages (only its owner and operators may subscribe to it).
        """
        if self.is_revoked(identity.key_id):
            return False
        if isinstance(target, Stream) and target.is_direct:
            if action == "publish":
                return admitted(self.direct_send, identity)
            return identity.is_operator or identity.name == target.owner
        channel = target.channel if isinstance(target, Stream) else target
        assert channel is not None  # a Stream that is not direct is a channel's
        return admitted(self.principals(action, channel), identity)

    def check(self, identity: Identity, action: Action, target: Target) -> None:
        """Like :meth:`allows`, raising when it does not.

        Raises:
            PermissionDenied: naming ``identity``, ``action`` and ``channel`` (or ``recipient``).
        """
        if self.allows(identity, action, target):
            return
        if isinstance(target, Stream) and target.is_direct:
            where, context = f"the inbox of {target.owner!r}", {"recipient": target.owner}
        else:
            channel = target.channel if isinstance(target, Stream) else target
            where, context = f"channel {channel!r}", {"channel": channel}
        if self.is_revoked(identity.key_id):
            raise PermissionDenied(
                f"{identity.name!r} may not {action} on {where}: its key is revoked",
                identity=identity.name,
                action=action,
                reason="revoked",
                **context,
            )
        raise PermissionDenied(
            f"{identity.name!r} may not {action} on {where}",
            identity=identity.name,
            action=action,
            **context,
        )

    def may_read(self, identity: Identity, message: Message) -> bool:
        """Whether ``identity`` may read ``message`` from history: a channel's messages as
        :meth:`allows` ``subscribe`` says; a direct message only its recipient, its sender and
        operators."""
        if message.channel is not None:
            return self.allows(identity, "subscribe", message.channel)
        if self.is_revoked(identity.key_id):
            return False
        return identity.is_operator or identity.name in (message.recipient, message.sender)

    # -- changes: each returns a new policy, one version higher ----------------------------------

    def _next(self, **changes: object) -> Policy:
        values = self.model_dump()
        values.update(version=self.version + 1, issued_at=datetime.now(UTC), **changes)
        return Policy.model_validate(values)

    def _edit(self, principal: str, action: Action, channel: str | None, grant: bool) -> Policy:
        if channel is None:
            rule, listed = self.default, self.default.of(action) or ()
        else:
            rule, listed = self.channels.get(channel, Rule()), self.principals(action, channel)
        add, remove = (principal, "!" + principal) if grant else ("!" + principal, principal)
        updated = (*(p for p in listed if p not in (add, remove)), add)
        new_rule = rule.model_copy(update={action: updated})
        if channel is None:
            return self._next(default=new_rule)
        return self._next(channels={**self.channels, channel: new_rule})

    def grant(self, principal: str, action: Action, channel: str | None) -> Policy:
        """Let ``principal`` do ``action`` on ``channel`` (``None``: the default rule), keeping
        whoever could already."""
        return self._edit(principal, action, channel, grant=True)

    def deny(self, principal: str, action: Action, channel: str | None) -> Policy:
        """Stop ``principal`` doing ``action`` on ``channel``, even if a pattern or role would
        let it."""
        return self._edit(principal, action, channel, grant=False)

    def revoke(self, *key_ids: str) -> Policy:
        """Revoke keys."""
        return self._next(revoked=tuple(sorted({*self.revoked, *key_ids})))

    def renewed(self) -> Policy:
        """The same rules, one version higher, issued now."""
        return self._next()

    def with_expiry(self, not_after: datetime | None) -> Policy:
        """The same policy with another :attr:`not_after` (same version: sign it as part of a
        change)."""
        return self.model_copy(update={"not_after": not_after})


class SignedPolicy(FrozenModel):
    """A policy and the root's signature of it, as the store keeps it."""

    policy: Policy
    signature: str

    @staticmethod
    def signed_bytes(policy: Policy) -> bytes:
        """What the root signs: the policy's canonical bytes."""
        return canonical(POLICY_DOMAIN, policy.model_dump(mode="json", exclude_none=True))

    @classmethod
    def sign(cls, root: RootKey, policy: Policy) -> SignedPolicy:
        """Sign ``policy`` with the root key."""
        return cls(policy=policy, signature=root.sign(cls.signed_bytes(policy)))

    def check(self, root_public_key: Ed25519PublicKey) -> Policy:
        """The policy, if the root signed it.

        Raises:
            AuthenticationFailed: ``reason='bad_policy'``: not the root's signature.
        """
        try:
            signature = b64decode(self.signature)
        except ValueError:
            signature = b""
        if not verifies(root_public_key, signature, self.signed_bytes(self.policy)):
            raise AuthenticationFailed(
                f"policy version {self.policy.version} is not signed by the root key",
                reason="bad_policy",
                version=self.policy.version,
            )
        return self.policy

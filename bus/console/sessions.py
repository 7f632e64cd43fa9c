"""Who is looking, and whether a form came from our page: signed session cookies, the login
check, the CSRF token of every form.

A session is a cookie (``HttpOnly``, ``SameSite=Strict``) holding the person's name, whether they
are an operator, and the CSRF token every POST must carry, signed with HMAC-SHA256 under a key
derived from ``BUS_WEB_SECRET`` (a random one per process without it: sessions then end with the
process, which only matters with auth off, where nobody logs in).

With ``BUS_AUTH=required`` nobody is anonymous. A person logs in with a name and either the
console's secret (then they are an operator: they see every inbox, as the operator whose
credentials the console holds) or their own token, :meth:`Sessions.person_token` of their name
(then they see what the bus's policy lets that name see of direct messages: their own inbox).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

from starlette.requests import HTTPConnection
from starlette.responses import Response

from bus.console.reads import Viewer
from bus.errors import InvalidName
from bus.names import check_agent_name

#: The session cookie's name.
COOKIE = "bus_console"
#: The form field every POST carries its CSRF token in.
CSRF_FIELD = "csrf"
#: Who is looking when auth is off and nobody said who they are.
ANONYMOUS = "operator"


class Sessions:
    """Issues and reads session cookies, and checks logins."""

    def __init__(self, *, auth_required: bool, secret: str | None) -> None:
        self.auth_required = auth_required
        self._secret = secret
        seed = secret.encode() if secret else secrets.token_bytes(32)
        self._key = hashlib.sha256(b"bus-console-session\0" + seed).digest()

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def person_token(self, name: str) -> str:
        """The token ``name`` logs in with (derived from the secret; empty without one)."""
        if not self._secret:
            return ""
        digest = hmac.new(self._secret.encode(), b"person\0" + name.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def check_login(self, name: str, secret: str) -> Viewer | None:
        """The viewer ``name`` and ``secret`` log in as, or ``None``."""
        try:
            check_agent_name(name)
        except InvalidName:
            return None
        if not self._secret or not secret:
            return None
        if hmac.compare_digest(secret.encode(), self._secret.encode()):
            return Viewer(name, operator=True)
        if hmac.compare_digest(secret.encode(), self.person_token(name).encode()):
            return Viewer(name, operator=False)
        return None

    def cookie_for(self, viewer: Viewer | None) -> str:
        """A new session's cookie value: ``viewer`` (``None``: not logged in) and a CSRF token."""
        data = {"csrf": secrets.token_urlsafe(24)}
        if viewer is not None:
            data.update(name=viewer.name, operator="1" if viewer.operator else "")
        payload = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")
        return f"{payload.decode()}.{self._sign(payload)}"

    def read(self, connection: HTTPConnection) -> dict[str, str] | None:
        """The session of a request or event stream, if its cookie is ours and unchanged."""
        return self.read_value(connection.cookies.get(COOKIE, ""))

    def read_value(self, value: str) -> dict[str, str] | None:
        """The session a cookie value holds, if it is ours and unchanged."""
        payload, _, signature = value.partition(".")
        if not signature or not hmac.compare_digest(signature, self._sign(payload.encode())):
            return None
        try:
            data = json.loads(
                base64.urlsafe_b64decode(payload.encode() + b"=" * (-len(payload) % 4))
            )
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def viewer(self, connection: HTTPConnection) -> Viewer | None:
        """Who is looking: the logged-in person; with auth off, anyone (an operator)."""
        session = self.read(connection) or {}
        name = session.get("name")
        if name:
            return Viewer(name, operator=bool(session.get("operator")))
        return None if self.auth_required else Viewer(ANONYMOUS, operator=True)

    def csrf_ok(self, connection: HTTPConnection, token: object) -> bool:
        """Whether ``token`` (a form's) is the session's CSRF token."""
        session = self.read(connection)
        expected = session.get("csrf", "") if session else ""
        return bool(expected) and isinstance(token, str) and hmac.compare_digest(token, expected)

    def set_cookie(self, response: Response, value: str) -> None:
        """Put a session cookie on ``response``."""
        response.set_cookie(COOKIE, value, httponly=True, samesite="strict", path="/")

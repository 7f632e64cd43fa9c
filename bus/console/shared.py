"""What every route of the console shares: :class:`Console` (the bus, its reads, the followed
streams, the sessions, the templates), and how a route finds it, its viewer, and renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bus.channels import Stream
from bus.console.feeds import Feeds
from bus.console.options import ConsoleOptions
from bus.console.reads import ConsoleReads, Viewer
from bus.console.sessions import Sessions
from bus.core import Bus
from bus.errors import InvalidName, PermissionDenied
from bus.names import decode_channel

HERE = Path(__file__).parent


class Console:
    """What every route shares: the bus, its reads, the followed streams, the sessions."""

    def __init__(self, bus: Bus, options: ConsoleOptions) -> None:
        self.bus = bus
        self.options = options
        self.auth_required = bus.settings.auth == "required"
        secret = options.login_secret()
        self.sessions = Sessions(auth_required=self.auth_required, secret=secret)
        self.reads = ConsoleReads(bus, options.page_size)
        self.feeds = Feeds(self.reads, options.poll_seconds)
        #: The identity the console's bus signs as (auth required), else ``None``.
        self.operator = bus.guard.identity
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            auto_reload=False,
        )

    def channel_stream(self, token: str, viewer: Viewer) -> Stream:
        """The channel a URL token names (:func:`bus.names.encode_channel`), if ``viewer`` may
        read it here: the dead-letter channel, which carries direct messages, only operators.

        Raises:
            InvalidName: the token is not a channel's. PermissionDenied.
        """
        try:
            channel = decode_channel(token)
        except (ValueError, IndexError):
            raise InvalidName(f"not a channel in a URL: {token!r}") from None
        if channel == self.bus.settings.dead_letter_channel and not viewer.operator:
            raise PermissionDenied(
                f"{viewer.name!r} may not read {channel}: it carries direct messages",
                channel=channel,
            )
        return Stream.of_channel(channel)


def console_of(connection: HTTPConnection) -> Console:
    """The console serving ``connection``."""
    console: Console = connection.app.state.console
    return console


def render(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    """``template`` rendered (autoescaped) with the viewer, the CSRF token and ``values``; a
    request without a session gets one (with auth off, anyone; required, nobody yet)."""
    console = console_of(request)
    session = console.sessions.read(request)
    cookie = None
    if session is None:
        cookie = console.sessions.cookie_for(None)
        session = console.sessions.read_value(cookie) or {}
    html = console.templates.get_template(template).render(
        viewer=console.sessions.viewer(request),
        csrf=session.get("csrf", ""),
        auth_required=console.auth_required,
        operator=console.operator,
        **values,
    )
    response = HTMLResponse(html, status_code=status)
    if cookie is not None:
        console.sessions.set_cookie(response, cookie)
    return response


def viewer_or_login(request: Request) -> Viewer | Response:
    """The viewer of a page, or the redirect to the login page (auth required, none yet)."""
    viewer = console_of(request).sessions.viewer(request)
    if viewer is None:
        return RedirectResponse("/login", status_code=303)
    return viewer

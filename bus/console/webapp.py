"""The console's Starlette app: its state (:class:`Console`), routes, and security headers."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bus.console import actions, pages
from bus.console.options import ConsoleOptions
from bus.console.shared import HERE, Console
from bus.core import Bus

#: Sent with every response: only our own scripts, styles and images; never framed; no
#: sniffing a type; no address of the console leaked to another site.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """ASGI middleware that adds :data:`SECURITY_HEADERS` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(bus: Bus, options: ConsoleOptions | None = None) -> Starlette:
    """The console over ``bus`` (started; the caller stops it)."""
    app = Starlette(
        routes=[
            *pages.ROUTES,
            *actions.ROUTES,
            Route("/c/{token}/events", pages.channel_events),
            Route("/d/{agent}/events", pages.direct_events),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
    )
    app.state.console = Console(bus, options if options is not None else ConsoleOptions())
    app.add_middleware(SecurityHeaders)
    return app

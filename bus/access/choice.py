"""Which guard a bus uses: open with ``BUS_AUTH=off``, the signing one with ``required``.

Kept apart from :mod:`bus.access.guard` (which :mod:`bus.auth` builds on) so that choosing
:class:`bus.auth.signed_guard.SignedGuard` needs no import cycle, and so that auth off imports
nothing of :mod:`bus.auth`.
"""

from __future__ import annotations

from bus.access.guard import Guard, OpenGuard
from bus.settings import BusSettings


def open_guard(settings: BusSettings) -> Guard:
    """The guard ``settings`` ask for: :class:`~bus.access.guard.OpenGuard` with ``BUS_AUTH=off``,
    else :class:`bus.auth.signed_guard.SignedGuard` (imported only then: auth off costs no import).

    Raises:
        ConfigurationError: ``BUS_AUTH=required`` without usable root key or credentials.
    """
    if settings.auth == "off":
        return OpenGuard()
    from bus.auth.signed_guard import SignedGuard

    return SignedGuard.from_settings(settings)

"""The live console (``bus web``): channels, conversations, deliveries and dead letters in a
browser, as they happen.

A Starlette app (:func:`bus.console.webapp.create_app`) over one started :class:`bus.Bus`:
pages rendered on the server by Jinja2 (autoescaped: a message's content is text, never
markup), a small vendored script (``static/console.js``, no build step, no CDN) that follows a
stream over server-sent events whose ids are the stream's seqs (a reconnect resumes from
``Last-Event-ID``, no gap, no duplicate), and forms through which a person posts, sends a direct
message or answers a request as ``human:<name>``. With ``BUS_AUTH=required`` every page, event
stream and action needs a login, and every action a CSRF token (:mod:`bus.console.sessions`).
"""

from __future__ import annotations

from bus.console.webapp import create_app

__all__ = ["create_app"]

"""What a person does from the console (POST, each with the session's CSRF token): log in and
out, post to a channel, send an agent a direct message, answer a message, replay a dead letter.

A person speaks as ``human:<name>``. With ``BUS_AUTH=required`` the bus stamps and signs every
message as the operator whose credentials the console holds (a sender is who holds the key), so
the message's sender is that operator and the person's name travels, signed with the rest, in
``metadata.extra["human"]``.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bus.console.pages import channel_stream, failed, inbox_stream
from bus.console.reads import Viewer
from bus.console.sessions import CSRF_FIELD
from bus.console.shared import Console, console_of, render
from bus.deadletters.operations import replay
from bus.errors import BusError, InvalidArgument
from bus.message import Message
from bus.names import HUMAN_PREFIX


async def _checked(request: Request) -> tuple[Viewer, FormData] | Response:
    """The viewer and form of a POST, or the refusal: no login (401), no CSRF token (403)."""
    console = console_of(request)
    form = await request.form()
    if not console.sessions.csrf_ok(request, form.get(CSRF_FIELD)):
        return PlainTextResponse("missing or wrong CSRF token: reload the page", status_code=403)
    viewer = console.sessions.viewer(request)
    if viewer is None:
        return PlainTextResponse("log in first", status_code=401)
    return viewer, form


def _speaking(console: Console, viewer: Viewer) -> tuple[str, dict[str, Any]]:
    """The sender and metadata of what ``viewer`` says (see the module doc)."""
    human = HUMAN_PREFIX + viewer.name
    sender = console.operator if console.operator is not None else human
    return sender, {"extra": {"human": human}}


def _content(form: FormData) -> str:
    content = form.get("content")
    if not isinstance(content, str) or not content.strip():
        raise InvalidArgument("say something: the message is empty", field="content")
    return content


async def post(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    viewer, form = checked
    console = console_of(request)
    token = request.path_params["token"]
    try:
        channel = channel_stream(token).channel or ""
        sender, metadata = _speaking(console, viewer)
        content = _content(form)
        await run_in_threadpool(
            lambda: console.bus.publish(channel, content, sender=sender, metadata=metadata)
        )
    except BusError as exc:
        return failed(request, exc)
    return RedirectResponse(f"/c/{token}", status_code=303)


async def send(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    viewer, form = checked
    console = console_of(request)
    agent = request.path_params["agent"]
    try:
        sender, metadata = _speaking(console, viewer)
        content = _content(form)
        await run_in_threadpool(
            lambda: console.bus.send(agent, content, sender=sender, metadata=metadata)
        )
    except BusError as exc:
        return failed(request, exc)
    return RedirectResponse(f"/d/{agent}" if viewer.may_read_inbox(agent) else "/", 303)


def _message(console: Console, form: FormData, viewer: Viewer) -> Message:
    """The message a form answers: ``stream`` (a channel's URL token or ``@agent``) and ``seq``.

    Raises:
        InvalidArgument: no such retained message.
    """
    where, seq = str(form.get("stream", "")), str(form.get("seq", ""))
    stream = inbox_stream(where[1:], viewer) if where.startswith("@") else channel_stream(where)
    if seq.isdigit():
        found = [m for m in console.reads.after(stream, int(seq) - 1) if m.seq == int(seq)]
        if found:
            return found[0]
    raise InvalidArgument(f"no retained message #{seq} on {stream.label}", seq=seq)


async def answer(request: Request) -> Response:
    """Reply to a message as ``bus`` agents do (``AgentClient.reply``): a direct message to its
    ``reply_to`` (or sender) with its correlation id, caused by it."""
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    viewer, form = checked
    console = console_of(request)
    try:
        content = _content(form)
        message = await run_in_threadpool(_message, console, form, viewer)
        sender, metadata = _speaking(console, viewer)
        recipient = message.reply_to or message.sender
        await run_in_threadpool(
            lambda: console.bus.send(
                recipient,
                content,
                sender=sender,
                metadata=metadata,
                type=message.type,
                priority=message.priority,
                correlation_id=message.correlation_id or message.id,
                causation_id=message.id,
                hops=message.hops + 1,
            )
        )
    except BusError as exc:
        return failed(request, exc)
    return RedirectResponse(f"/trace/{message.id}", status_code=303)


async def replay_letter(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    viewer, _ = checked
    console = console_of(request)
    if not viewer.operator:
        return render(request, "error.html", 403, message="only an operator replays dead letters")
    try:
        await run_in_threadpool(replay, console.bus, int(request.path_params["seq"]))
    except BusError as exc:
        return failed(request, exc)
    return RedirectResponse("/dead-letters", status_code=303)


async def login(request: Request) -> Response:
    console = console_of(request)
    form = await request.form()
    if not console.sessions.csrf_ok(request, form.get(CSRF_FIELD)):
        return PlainTextResponse("missing or wrong CSRF token: reload the page", status_code=403)
    viewer = console.sessions.check_login(str(form.get("name", "")), str(form.get("secret", "")))
    if viewer is None:
        return render(request, "login.html", 401, refused=True)
    response = RedirectResponse("/", status_code=303)
    console.sessions.set_cookie(response, console.sessions.cookie_for(viewer))
    return response


async def logout(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    console = console_of(request)
    response = RedirectResponse("/login" if console.auth_required else "/", status_code=303)
    console.sessions.set_cookie(response, console.sessions.cookie_for(None))
    return response


ROUTES = [
    Route("/c/{token}/post", post, methods=["POST"]),
    Route("/d/{agent}/send", send, methods=["POST"]),
    Route("/answer", answer, methods=["POST"]),
    Route("/dead-letters/{seq:int}/replay", replay_letter, methods=["POST"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]

"""What a person does from the console (POST, each with the session's CSRF token): log in and
out, post to a channel, send an agent a direct message, answer a message, replay a dead letter.

A person speaks as ``human:<name>``. With ``BUS_AUTH=required`` the bus stamps and signs every
message as the operator whose credentials the console holds (a sender is who holds the key), so
the message's sender is that operator and the person's name travels, signed with the rest, in
``metadata.extra["human"]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bus.console.pages import failed, inbox_stream
from bus.console.reads import Viewer
from bus.console.sessions import CSRF_FIELD
from bus.console.shared import Console, console_of, render
from bus.deadletters.operations import replay
from bus.errors import BusError, InvalidArgument
from bus.message import Message
from bus.names import HUMAN_PREFIX, check_agent_name


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


Act = Callable[[Request, Console, Viewer, FormData], Awaitable[Response]]


def action(act: Act) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of ``act``: checked (login, CSRF) first; a bus error is a page saying why."""

    async def endpoint(request: Request) -> Response:
        checked = await _checked(request)
        if isinstance(checked, Response):
            return checked
        viewer, form = checked
        try:
            return await act(request, console_of(request), viewer, form)
        except BusError as exc:
            return failed(request, exc)

    return endpoint


def _speaking(console: Console, viewer: Viewer, form: FormData) -> tuple[str, dict[str, Any]]:
    """The sender and metadata of what ``viewer`` says (see the module doc). With auth off a
    person may give their name in the form (``as``)."""
    name = viewer.name
    given = form.get("as")
    if not console.auth_required and isinstance(given, str) and given.strip():
        name = check_agent_name(given.strip())
    human = HUMAN_PREFIX + name
    sender = console.operator if console.operator is not None else human
    return sender, {"extra": {"human": human}}


def _content(form: FormData) -> str:
    content = form.get("content")
    if not isinstance(content, str) or not content.strip():
        raise InvalidArgument("say something: the message is empty", field="content")
    return content


@action
async def post(request: Request, console: Console, viewer: Viewer, form: FormData) -> Response:
    token = request.path_params["token"]
    channel = console.channel_stream(token, viewer).channel or ""
    sender, metadata = _speaking(console, viewer, form)
    content = _content(form)
    await run_in_threadpool(
        lambda: console.bus.publish(channel, content, sender=sender, metadata=metadata)
    )
    return RedirectResponse(f"/c/{token}", status_code=303)


@action
async def send(request: Request, console: Console, viewer: Viewer, form: FormData) -> Response:
    agent = request.path_params["agent"]
    sender, metadata = _speaking(console, viewer, form)
    content = _content(form)
    await run_in_threadpool(
        lambda: console.bus.send(agent, content, sender=sender, metadata=metadata)
    )
    return RedirectResponse(f"/d/{agent}" if viewer.may_read_inbox(agent) else "/", 303)


def _message(console: Console, form: FormData, viewer: Viewer) -> Message:
    """The message a form answers: ``stream`` (a channel's URL token or ``@agent``) and ``seq``.

    Raises:
        InvalidArgument: no such retained message.
    """
    where, seq = str(form.get("stream", "")), str(form.get("seq", ""))
    if where.startswith("@"):
        stream = inbox_stream(where[1:], viewer)
    else:
        stream = console.channel_stream(where, viewer)
    if seq.isdigit():
        found = [m for m in console.reads.after(stream, int(seq) - 1) if m.seq == int(seq)]
        if found:
            return found[0]
    raise InvalidArgument(f"no retained message #{seq} on {stream.label}", seq=seq)


@action
async def answer(request: Request, console: Console, viewer: Viewer, form: FormData) -> Response:
    """Reply to a message as ``bus`` agents do (``AgentClient.reply``): a direct message to its
    ``reply_to`` (or sender) with its correlation id, caused by it."""
    content = _content(form)
    message = await run_in_threadpool(_message, console, form, viewer)
    sender, metadata = _speaking(console, viewer, form)
    await run_in_threadpool(
        lambda: console.bus.send(
            message.reply_to or message.sender,
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
    return RedirectResponse(f"/trace/{message.id}", status_code=303)


@action
async def replay_letter(
    request: Request, console: Console, viewer: Viewer, form: FormData
) -> Response:
    if not viewer.operator:
        return render(request, "error.html", 403, message="only an operator replays dead letters")
    await run_in_threadpool(replay, console.bus, int(request.path_params["seq"]))
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


@action
async def logout(request: Request, console: Console, viewer: Viewer, form: FormData) -> Response:
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

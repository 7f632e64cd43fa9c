"""The console's pages (GET): channels and inboxes, a timeline, agents, dead letters, a
causation tree, the login form; a timeline's event stream and its delivery ticks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from bus.channels import Stream
from bus.console.feeds import resume_point
from bus.console.reads import Viewer
from bus.console.shared import console_of, render, viewer_or_login
from bus.errors import BusError, PermissionDenied
from bus.names import check_agent_name, encode_channel


def _before(request: Request) -> int | None:
    value = request.query_params.get("before", "")
    return int(value) if value.isdigit() else None


def inbox_stream(agent: str, viewer: Viewer) -> Stream:
    """The inbox of ``agent``, if ``viewer`` may read it (the policy's rule for DMs).

    Raises:
        InvalidName; PermissionDenied: the viewer may not read that inbox.
    """
    check_agent_name(agent)
    if not viewer.may_read_inbox(agent):
        raise PermissionDenied(
            f"{viewer.name!r} may not read the direct messages of {agent!r}", recipient=agent
        )
    return Stream.of_inbox(agent)


def failed(request: Request, exc: BusError) -> Response:
    """A bus error as a page saying what was wrong (403 for a refusal, else 400)."""
    status = 403 if isinstance(exc, PermissionDenied) else 400
    return render(request, "error.html", status=status, message=exc.message)


async def index(request: Request) -> Response:
    viewer = viewer_or_login(request)
    if not isinstance(viewer, Viewer):
        return viewer
    reads = console_of(request).reads
    channels = await run_in_threadpool(reads.channels)
    inboxes = await run_in_threadpool(reads.inboxes, viewer)
    return render(request, "index.html", channels=channels, inboxes=inboxes, token=encode_channel)


async def _timeline(request: Request, stream: Stream, title: str, base: str) -> Response:
    page = await run_in_threadpool(console_of(request).reads.page, stream, _before(request))
    return render(
        request,
        "timeline.html",
        page=page,
        title=title,
        base=base,
        stream=stream,
        live=_before(request) is None,
    )


async def channel(request: Request) -> Response:
    viewer = viewer_or_login(request)
    if not isinstance(viewer, Viewer):
        return viewer
    token = request.path_params["token"]
    try:
        stream = console_of(request).channel_stream(token, viewer)
        return await _timeline(request, stream, stream.channel or "", f"/c/{token}")
    except BusError as exc:
        return failed(request, exc)


async def direct(request: Request) -> Response:
    viewer = viewer_or_login(request)
    if not isinstance(viewer, Viewer):
        return viewer
    agent = request.path_params["agent"]
    try:
        stream = inbox_stream(agent, viewer)
        return await _timeline(request, stream, f"direct messages to {agent}", f"/d/{agent}")
    except BusError as exc:
        return failed(request, exc)


def _events(request: Request, stream: Stream) -> Response:
    after = resume_point(request.headers.get("last-event-id"), request.query_params.get("after"))
    return StreamingResponse(
        console_of(request).feeds.follow(stream, after),
        media_type="text/event-stream",
        headers={"x-accel-buffering": "no"},
    )


async def _followed(request: Request, stream: Callable[[Viewer], Stream]) -> Response:
    """The event stream of ``stream(viewer)``: 401 without a login, 403 if it may not be read."""
    console = console_of(request)
    viewer = console.sessions.viewer(request)
    if viewer is None:
        return PlainTextResponse("log in first", status_code=401)
    try:
        followed = stream(viewer)
        await run_in_threadpool(console.reads.head, followed)  # it exists and may be read
    except BusError as exc:
        return PlainTextResponse(exc.message, status_code=403)
    return _events(request, followed)


async def channel_events(request: Request) -> Response:
    """The channel's messages after ``Last-Event-ID`` (or ``?after=``), as they come."""
    token = request.path_params["token"]
    return await _followed(
        request, lambda viewer: console_of(request).channel_stream(token, viewer)
    )


async def direct_events(request: Request) -> Response:
    """An inbox's messages after ``Last-Event-ID``, for a viewer the policy lets read it."""
    return await _followed(
        request, lambda viewer: inbox_stream(request.path_params["agent"], viewer)
    )


async def ticks(request: Request) -> Response:
    """``?ids=a,b,...``: each message's delivery state per member, as JSON."""
    viewer = console_of(request).sessions.viewer(request)
    if viewer is None:
        return JSONResponse({"error": "log in first"}, status_code=401)
    ids = [part for part in request.query_params.get("ids", "").split(",") if part]
    found = await run_in_threadpool(console_of(request).reads.ticks, ids, viewer)
    return JSONResponse(found)


async def agents(request: Request) -> Response:
    viewer = viewer_or_login(request)
    if not isinstance(viewer, Viewer):
        return viewer
    reads = console_of(request).reads
    rows = await run_in_threadpool(reads.agents)
    circuits = await run_in_threadpool(reads.circuits)
    budgets = await run_in_threadpool(reads.budgets)
    return render(
        request,
        "agents.html",
        agents=rows,
        circuits=[(c, datetime.fromtimestamp(c.until_ms / 1000, UTC)) for c in circuits],
        budgets=budgets,
        window=reads.bus.settings.budget_window,
    )


async def dead_letters(request: Request) -> Response:
    viewer = viewer_or_login(request)
    if not isinstance(viewer, Viewer):
        return viewer
    letters = await run_in_threadpool(console_of(request).reads.dead_letters, viewer)
    return render(request, "deadletters.html", letters=letters)


async def trace(request: Request) -> Response:
    viewer = viewer_or_login(request)
    if not isinstance(viewer, Viewer):
        return viewer
    reads = console_of(request).reads
    try:
        tree = await run_in_threadpool(reads.thread, request.path_params["message_id"], viewer)
    except BusError as exc:
        return failed(request, exc)
    contents = await run_in_threadpool(reads.contents, tree)
    return render(request, "trace.html", trace=tree, contents=contents, token=encode_channel)


async def login_form(request: Request) -> Response:
    return render(request, "login.html")


ROUTES = [
    Route("/", index),
    Route("/c/{token}", channel),
    Route("/d/{agent}", direct),
    Route("/agents", agents),
    Route("/dead-letters", dead_letters),
    Route("/trace/{message_id}", trace),
    Route("/api/ticks", ticks),
    Route("/login", login_form, methods=["GET"]),
]

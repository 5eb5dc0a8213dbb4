"""The wallboard's ASGI app: routes, auth, CORS and the lifespan that runs the source.

Starlette does the plumbing (routing, requests, CORS); ``_stream.py`` writes the
event stream itself, ``_board.py`` holds the state, ``_auth.py`` checks tokens.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import json
import logging
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import cached_property
from typing import Any

import anyio
import anyio.abc
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .._clock import Clock
from ..kpis import QueueKpis
from ..watch import AgentWatcher
from ._auth import Guard, cors_allowed
from ._board import Board
from ._kpis import KpiFeed
from ._sources import Source, WatcherSource, utf8
from ._stream import EventStream, Message, Receive, Scope, Send

logger = logging.getLogger("contactnow_async.web")

#: The headers every reply carries, as ASGI sends them: the endpoints' and Starlette's own
#: replies' alike (an unknown path's 404, a wrong method's 405, a CORS preflight, a crash's
#: 500). ``Wallboard.__call__`` adds those a reply lacks: the one place they are set.
_EVERY_REPLY = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))
_EVENT_STREAM = {
    "content-type": "text/event-stream; charset=utf-8",
    "x-accel-buffering": "no",  # nginx: pass each event on at once
}


def _json(content: Any) -> bytes:
    """``content`` as compact JSON in UTF-8; text from the API may hold a lone surrogate."""
    return utf8(json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")))


class _Json(JSONResponse):
    """Starlette's JSON response, written by :func:`_json`."""

    def render(self, content: Any) -> bytes:
        return _json(content)


class _Told:
    """A task status that remembers whether it was told (anyio's cannot be asked)."""

    def __init__(self, status: anyio.abc.TaskStatus[None]) -> None:
        self.status = status
        self.told = False

    def started(self, value: None = None) -> None:
        self.told = True
        self.status.started(value)


class _Stream(Response):
    """Starlette's view of an :class:`EventStream` (a response it only calls)."""

    def __init__(self, stream: EventStream) -> None:  # no body, no headers of its own
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.stream(scope, receive, send)


class Wallboard:
    """A live wallboard as an ASGI app: made by :func:`wallboard_app`.

    Mount it in your own app (``app.mount("/wallboard", wallboard)``) with its
    :meth:`lifespan` as your app's, or serve it alone (it runs its own lifespan).
    The lifespan runs the source (and the queue KPIs' refreshes, given ``kpis``): until
    the source has started, every endpoint answers 503.
    """

    def __init__(
        self,
        source: Source,
        *,
        auth_token: str | None = None,
        cors_origins: Iterable[str] = (),
        retain: int = 10_000,
        buffer: int = 10_000,
        heartbeat: float = 15.0,
        write_timeout: float = 30.0,
        stream_token_ttl: float = 600.0,
        clock: Clock | None = None,
        kpis: QueueKpis | None = None,
    ) -> None:
        self.source = source
        self.clock: Clock = clock if clock is not None else source.clock
        self.board = Board(
            parse_id=source.parse_id,
            retain=retain,
            buffer=buffer,
            heartbeat=heartbeat,
            write_timeout=write_timeout,
            clock=self.clock,
        )
        # Expiries are whole unix seconds of at most 12 digits (what a check reads).
        if not 1 <= stream_token_ttl <= 1e9:  # NaN fails too
            raise ValueError(
                f"stream_token_ttl must be seconds from 1 to 1e9, got {stream_token_ttl!r}"
            )
        self.guard = Guard(auth_token, stream_ttl=stream_token_ttl)
        self.kpis = None if kpis is None else KpiFeed(kpis, self.board)
        #: What stopped the source after it started (an error its own health may not say).
        self.failure: str | None = None
        self._running = False
        try:
            origins = cors_allowed(cors_origins)
        except ValueError as exc:
            raise ValueError(f"cors_origins: {exc}") from None
        middleware = []
        if origins:
            middleware.append(
                Middleware(
                    CORSMiddleware,
                    allow_origins=origins,
                    allow_methods=["GET"],
                    allow_headers=["authorization", "last-event-id"],
                )
            )
        self.app = Starlette(
            routes=[
                Route("/", self.page, methods=["GET"]),
                Route("/snapshot", self.snapshot, methods=["GET"]),
                Route("/kpis", self.queue_kpis, methods=["GET"]),
                Route("/events", self.events, methods=["GET"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/stream-token", self.stream_token, methods=["GET"]),
            ],
            middleware=middleware,
            lifespan=self.lifespan,
        )
        # Not /events/?access_token=... redirected to /events?access_token=...: the
        # token would be written into a Location header (a proxy's log keeps those).
        self.app.router.redirect_slashes = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            # Here, outside Starlette's whole stack: its own replies are made inside it,
            # out of the endpoints' reach (a crash's 500 by its outermost middleware).
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                given = {bytes(name).lower() for name, _ in headers}
                headers += [header for header in _EVERY_REPLY if header[0] not in given]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def __repr__(self) -> str:
        return f"<Wallboard source={self.source.kind} viewers={len(self.board.viewers)}>"

    @asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """Run the source for the block: ``FastAPI(lifespan=wallboard.lifespan)``.

        Entered, the board is seeded (the first poll is done; a watcher whose first poll
        failed, or a Redis source that could not read the stream yet, seeds it once it
        can, with 503s until then) and the queue
        KPIs' first read has begun; left, every browser's stream ends (browsers reconnect and
        resume), and the source and the KPIs' refreshes stop.
        """
        if self._running:
            raise RuntimeError("this wallboard is already running")
        self._running = True
        self.board.stopped = False
        self.failure = None
        group = anyio.create_task_group()
        await group.__aenter__()
        try:
            await group.start(self._run_source)
            group.start_soon(self.board.keep)
            if self.kpis is not None:
                group.start_soon(self.kpis.run)
        except BaseException:
            self._running = False
            group.cancel_scope.cancel()
            # start() raised the error of a start that failed (or the cancellation of one cut
            # short): it goes on below as itself. Handed to the task group, it came out in an
            # exception group.
            await group.__aexit__(None, None, None)
            raise
        try:
            yield
        finally:
            self.board.started = False  # from now on every endpoint says 503
            self.close_streams()
            group.cancel_scope.cancel()
            # The body's own exception (if any) propagates as itself, not in a group:
            # the source task never raises, it reports trouble through health(); nor
            # do the KPIs' refreshes (a failed one marks the figures stale).
            try:
                await group.__aexit__(None, None, None)
            finally:  # also when a cancellation from outside ends the wait early
                self._running = False

    async def _run_source(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        status = _Told(task_status)
        try:
            await self.source.run(self.board, task_status=status)
        except Exception as exc:
            if not status.told:
                raise  # the lifespan's start raises it
            # Once started, an error stops the board, as a refused password does. Raised, it
            # cancelled the task group's host: the app's own lifespan, which closed its client
            # (and whatever else it held) while the server went on serving.
            self.failure = f"{type(exc).__name__}: {exc}"
            if not self.board.stopped:  # a watcher's error is logged by the source itself
                logger.error("the wallboard's source stopped: %s", self.failure, exc_info=exc)
                self.board.stop()

    def close_streams(self) -> None:
        """End every browser's stream now; they reconnect and resume where they were.

        Servers wait for open responses before shutting down: call this when yours
        starts to (``contactnow serve`` does), or give it a graceful-shutdown timeout.
        """
        self.board.close()

    # -- endpoints ---------------------------------------------------------------

    def _refusal(self, request: Request, *, stream: bool = True) -> Response | None:
        """The 503 or 401 a request gets, or None (``stream=False``: no stream token)."""
        if not self.board.started:
            if not self._running:
                reason = "the wallboard is not running: give your app wallboard.lifespan"
            elif self.board.stopped:
                reason = "the wallboard's source stopped: see /healthz"
            else:
                reason = "the wallboard's source has not started yet: see /healthz"
            return _Json({"error": reason}, status_code=503)
        if not self.guard.allows(request.headers, request.query_params, stream=stream):
            return _Json(
                {"error": "a valid access token is needed (Authorization: Bearer ...)"},
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
        return None

    async def page(self, request: Request) -> Response:
        """``GET /``: the page (no data and no secret in it: it asks for both)."""
        html, policy = self._page
        return HTMLResponse(
            html,
            headers={
                "content-security-policy": policy,
                "referrer-policy": "no-referrer",
            },
        )

    @cached_property
    def _page(self) -> tuple[str, str]:
        html = importlib.resources.files(__package__).joinpath("wallboard.html").read_text("utf-8")
        hashes = {
            kind: " ".join(
                f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
                for body in re.findall(rf"<{kind}>(.*?)</{kind}>", html, re.DOTALL)
            )
            for kind in ("script", "style")
        }
        policy = (
            f"default-src 'none'; script-src {hashes['script']}; style-src {hashes['style']}; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        return html, policy

    async def snapshot(self, request: Request) -> Response:
        """``GET /snapshot``: every agent's state, and the cursor to resume the events from."""
        refused = self._refusal(request)
        if refused is not None:
            return refused
        board = self.board
        clock = self.clock
        head = _json(
            {
                "cursor": board.cursor,
                "server_ts": board.centre.now(),  # the centre's clock, as the rows tell it
                # A sped-up simulator's clock (ScaledClock) runs faster: the page ticks with it.
                "clock_speed": float(getattr(clock, "speed", 1.0)),
                "source": self.source.kind,
            },
        )  # the agents (the bulk) encoded once per change of the board, for every browser
        body = b"".join((head[:-1], b',"agents":', board.agents_json(_json), b"}"))
        return Response(body, media_type="application/json")

    async def events(self, request: Request) -> Response:
        """``GET /events``: the SSE stream, resumed after ``Last-Event-ID`` (header first)."""
        refused = self._refusal(request)
        if refused is not None:
            return refused
        if request.method == "HEAD":  # headers only: a stream would hold a viewer for nothing
            head = Response(headers=_EVENT_STREAM)
            del head.headers["content-length"]  # the GET's length is not 0: it has none
            return head
        last_event_id = request.headers.get("last-event-id") or request.query_params.get(
            "last_event_id"
        )
        wanted = {
            agent_id.strip()
            for value in request.query_params.getlist("agent")
            for agent_id in value.split(",")
            if agent_id.strip()
        }
        viewer, resume = self.board.join(
            last_event_id.strip() if last_event_id else None,
            agents=frozenset(wanted) if wanted else None,
        )
        viewer.ends = self.guard.ends(request.headers, request.query_params)  # Board.keep()
        if self.kpis is not None and self.kpis.frame is not None:
            viewer.add([self.kpis.frame], first=True)  # the figures now, then what changes
        return _Stream(
            EventStream(
                self.board,
                viewer,
                source=self.source,
                resume=resume,
                headers=_EVENT_STREAM,
            )
        )

    async def queue_kpis(self, request: Request) -> Response:
        """``GET /kpis``: the queue KPIs (see ``_kpis.py``); 404 when the wallboard has none."""
        refused = self._refusal(request)
        if refused is not None:
            return refused
        if self.kpis is None:
            return _Json(
                {"error": "this wallboard has no queue KPIs (wallboard_app(kpis=QueueKpis(...)))"},
                status_code=404,
            )
        return Response(self.kpis.document_json(_json), media_type="application/json")

    async def healthz(self, request: Request) -> Response:
        """``GET /healthz``: 200 while events flow, 503 while the source is failing.

        Open to load balancers; the last error's text only with the token.
        """
        healthy, details = self.source.health()
        healthy = healthy and self.board.started
        if self.failure is not None:
            details["last_error"] = self.failure
        if not self.guard.allows(request.headers, request.query_params):
            details.pop("last_error", None)
        body = {"healthy": healthy, "source": self.source.kind, **self.board.health(), **details}
        return _Json(body, status_code=200 if healthy else 503)

    async def stream_token(self, request: Request) -> Response:
        """``GET /stream-token``: a short-lived token for an EventSource URL (None: no auth).

        Only for the token itself: a stream token that could mint the next one would
        never expire.
        """
        refused = self._refusal(request, stream=False)
        if refused is not None:
            return refused
        now = self.guard.clock()
        minted = self.guard.mint()
        if minted is None:
            return _Json({"access_token": None, "expires_ts": None, "expires_in": None})
        token, expires_ts = minted  # expires_in needs no browser clock: the page renews by it
        left = max(expires_ts - now, 0.0)
        return _Json({"access_token": token, "expires_ts": expires_ts, "expires_in": left})


def wallboard_app(
    source: AgentWatcher | Source,
    *,
    auth_token: str | None = None,
    cors_origins: Iterable[str] = (),
    retain: int = 10_000,
    buffer: int = 10_000,
    heartbeat: float = 15.0,
    write_timeout: float = 30.0,
    stream_token_ttl: float = 600.0,
    clock: Clock | None = None,
    kpis: QueueKpis | None = None,
) -> Wallboard:
    """A live wallboard of ``source`` as an ASGI app (see :class:`Wallboard`).

    ``source`` is an :class:`~contactnow_async.AgentWatcher` created with
    ``backfill=True`` (the wallboard runs it), or a
    :class:`~contactnow_async.web.RedisStreamSource` (the stream ``contactnow
    relay`` writes: any number of replicas share one poller).

    ``auth_token``: the bearer token every data endpoint requires (None: none);
    read it from the environment, never a command line. ``cors_origins``: the
    origins allowed to call from other pages (none by default), each
    ``scheme://host[:port]`` as a browser sends it (or ``*``). ``retain``:
    events kept for browsers that reconnect. ``buffer``: events a browser may fall
    behind by before its stream is reset. ``heartbeat``: seconds of quiet before
    a comment is sent. ``write_timeout``: seconds a client may take to accept one
    write. ``stream_token_ttl``: seconds a ``/stream-token`` token is good for.
    ``clock``: the host's clock (default: the source's; a sped-up simulator's own): the
    page's time in status ticks from ``/snapshot``'s ``server_ts``, this clock corrected
    by the centre's offset from it, as the agents' rows show it (their ``server_ts``).
    ``kpis``: a :class:`~contactnow_async.kpis.QueueKpis` the wallboard refreshes and
    serves (``GET /kpis``, ``event: kpis``); without it the page shows no queue panel.

    Raises ValueError for a watcher without backfill, an empty ``auth_token``, a
    ``retain`` or ``buffer`` that is not a whole number from 1, a ``heartbeat`` or
    ``write_timeout`` that is not positive seconds, a ``stream_token_ttl`` outside 1 to
    1e9 seconds, or a CORS origin no browser's ``Origin`` is (with a path or a slash at
    its end, a ``*`` in its host, a host beyond ASCII, a port out of range).
    """
    if isinstance(source, AgentWatcher):
        source = WatcherSource(source, buffer=buffer)
    return Wallboard(
        source,
        auth_token=auth_token,
        cors_origins=cors_origins,
        retain=retain,
        buffer=buffer,
        heartbeat=heartbeat,
        write_timeout=write_timeout,
        stream_token_ttl=stream_token_ttl,
        clock=clock,
        kpis=kpis,
    )

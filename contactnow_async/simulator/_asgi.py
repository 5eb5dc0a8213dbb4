"""The simulator's HTTP plumbing: read an ASGI request, write its reply, apply a fault on the way.

Nothing here knows the API: :func:`read_request` turns the path and arguments
into a :class:`Request`, :func:`respond` runs the simulator's work (or a fault
instead of it) and sends the bytes. Where each :class:`FaultKind` strikes,
before the API sees the request or after it did its work, is decided here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from email.utils import formatdate
from typing import Any, Literal, NoReturn

import anyio
import attrs

from ._faults import Fault, FaultKind
from ._wire import BinaryReply, Reply, parse_arguments, render_json, render_xml

__all__ = [
    "STOPPING",
    "Receive",
    "Request",
    "Response",
    "Scope",
    "Send",
    "SimulatedDisconnect",
    "Stopping",
    "lifespan",
    "read_request",
    "respond",
    "response_for",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = tuple[tuple[bytes, bytes], ...]

# Faults of the gateway or of the way in: the API never sees the request.
_REJECTED_BEFORE_THE_API = frozenset(
    {
        FaultKind.HTTP_500,
        FaultKind.HTTP_502,
        FaultKind.HTTP_503,
        FaultKind.HTTP_429,
        FaultKind.DROP_BEFORE,
        FaultKind.HTML,
    }
)
_STATUS_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    429: "Too Many Requests",
}
_MALFORMED = b'{"success":tru\x00\xff<result><list>[{"uid":"12'
_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Error</title></head>"
    b"<body><h1>Internal Server Error</h1><p>The server encountered an internal error "
    b"and was unable to complete your request.</p></body></html>\n"
)
_JSON = ((b"content-type", b"application/json; charset=utf-8"),)
_XML = ((b"content-type", b"text/xml; charset=utf-8"),)


class SimulatedDisconnect(Exception):
    """Raised by the ASGI app to break the connection without a complete reply."""


#: The key of a request's ASGI scope where the server that serves it (``serve()``) puts
#: its :class:`Stopping`.
STOPPING = "contactnow_async.stopping"


class Stopping:
    """The end of one server's serving, as the requests it serves see it: a latency fault
    still being waited out then is cut short (an ordinary request finishes as it would).

    :meth:`stop` is called from another thread than the server's event loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = False
        # The waits under way, each with how to run a call in its event loop.
        self._waits: dict[anyio.CancelScope, Callable[[Callable[[], None]], object]] = {}

    def stop(self) -> None:
        """Cut short each wait under way (:meth:`cut_short`), and each begun from now on."""
        with self._lock:
            self._stopped = True
            waits = list(self._waits.items())
        for scope, call_soon in waits:
            with contextlib.suppress(RuntimeError):  # its loop has closed: nothing waits
                call_soon(scope.cancel)

    @contextlib.contextmanager
    def cut_short(self) -> Iterator[anyio.CancelScope]:
        """A cancel scope that :meth:`stop` cancels; entered after it, one cancelled at once."""
        import asyncio  # only a served request comes here, on uvicorn's asyncio loop

        call_soon = asyncio.get_running_loop().call_soon_threadsafe
        with anyio.CancelScope() as scope:
            with self._lock:
                if self._stopped:
                    scope.cancel()
                else:
                    self._waits[scope] = call_soon
            try:
                yield scope
            finally:
                with self._lock:
                    self._waits.pop(scope, None)


@attrs.frozen
class Request:
    """One API request as read off the wire: which script, its arguments, who sent it."""

    http_method: str
    #: The path's last part without ``.php``: ``/us/database.php`` is ``database``.
    script: str
    method: str
    action: str
    #: Query and form arguments merged, form fields winning (PHP's ``$_REQUEST``).
    args: dict[str, str]
    #: The create/update records as sent (JSON or ``<dxi>`` XML), if any.
    payload: bytes | None
    body: bytes
    #: The client's address, from the socket or the simulator's ``address_header``.
    address: str


@attrs.frozen
class Response:
    """The status, headers and body to send (``Content-Length`` and ``Date`` are added)."""

    status: int
    headers: Headers
    content: bytes


async def read_request(scope: Scope, receive: Receive, *, address_header: str | None) -> Request:
    """Read the body and return the request; ``address_header`` (lower case) overrides the peer."""
    body = await _read_body(receive)
    headers = {
        key.decode("latin-1").lower(): value.decode("latin-1")
        for key, value in scope.get("headers", [])
    }
    client = scope.get("client")
    address = str(client[0]) if client else ""
    if address_header is not None and address_header in headers:
        address = headers[address_header].strip()
    path: str = scope.get("path", "")
    leaf = path.rsplit("/", 1)[-1]
    args, payload = parse_arguments(
        scope.get("query_string", b""), body, headers.get("content-type", "")
    )
    return Request(
        http_method=scope.get("method", "GET"),
        script=leaf[:-4] if leaf.endswith(".php") else leaf,
        method=args.get("method", ""),
        action=args.get("action", ""),
        args=args,
        payload=payload,
        body=body,
        address=address,
    )


def response_for(reply: Reply | BinaryReply, *, request: Request, item: str) -> Response:
    """Return ``reply`` as JSON, or as XML for ``format=xml``, list items named ``item``."""
    if isinstance(reply, BinaryReply):
        return Response(
            200, ((b"content-type", reply.content_type.encode("latin-1")),), reply.content
        )
    if request.args.get("format", "").lower() == "xml":
        return Response(200, _XML, render_xml(reply, item=item))
    return Response(200, _JSON, render_json(reply))


async def respond(
    send: Send,
    *,
    fault: Fault | None,
    process: Callable[[], Response],
    record: Callable[[int], None],
    now: Callable[[], float],
    receive: Receive | None = None,
    stopping: Stopping | None = None,
) -> None:
    """Answer one request: ``process`` it unless ``fault`` rejects it first, then send.

    ``record`` is told the HTTP status sent (0 for a dropped connection) just
    before the reply leaves. Raises :class:`SimulatedDisconnect` for a drop.
    A client that leaves during a latency fault (its timeout) ends the wait:
    the request is processed, recorded with status 0, and nothing is sent. So
    does the server's end (``stopping``), but its client sees the connection break.
    """
    if fault is not None and fault.kind is FaultKind.LATENCY:
        try:
            ended = await _wait_out(fault.latency, receive=receive, stopping=stopping)
        except anyio.get_cancelled_exc_class():
            # In process a client's timeout cancels the app itself: the work is
            # done all the same, as it is when a client leaves a served one.
            process()
            record(0)
            raise
        if ended != "waited":
            # Else uvicorn waited out its graceful shutdown on the sleep, then
            # cancelled it with a traceback. The work is done, as a slow server's is.
            process()
            record(0)
            if ended == "stopped":  # the client is still there: its connection breaks
                await _drop(send, b"", now=now)
            return
    if fault is not None and fault.kind in _REJECTED_BEFORE_THE_API:
        if fault.kind is FaultKind.DROP_BEFORE:
            record(0)
            await _drop(send, b"", now=now)
        response = _fault_response(fault)
    else:
        response = process()
        if fault is not None:
            if fault.kind is FaultKind.DROP_AFTER:
                record(0)
                await _drop(send, response.content[: len(response.content) // 2], now=now)
            elif fault.kind is FaultKind.TRUNCATED:
                response = attrs.evolve(
                    response, content=response.content[: len(response.content) // 2]
                )
            elif fault.kind is FaultKind.MALFORMED:
                response = attrs.evolve(response, content=_MALFORMED)
    record(response.status)
    headers = [
        *response.headers,
        (b"content-length", str(len(response.content)).encode("ascii")),
        (b"date", formatdate(now(), usegmt=True).encode("ascii")),
        (b"server", b"contactnow-simulator"),
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.content, "more_body": False})


def _fault_response(fault: Fault) -> Response:
    if fault.kind is FaultKind.HTML:
        return Response(
            fault.html_status, ((b"content-type", b"text/html; charset=utf-8"),), _HTML_PAGE
        )
    status = 429 if fault.kind is FaultKind.HTTP_429 else int(fault.kind.value[5:])
    headers: Headers = ((b"content-type", b"text/plain; charset=utf-8"),)
    if status == 429:
        headers += ((b"retry-after", str(fault.retry_after).encode("ascii")),)
    return Response(status, headers, f"{status} {_STATUS_TEXT[status]}\n".encode())


async def _drop(send: Send, partial: bytes, *, now: Callable[[], float]) -> NoReturn:
    # Promise more bytes than will ever come, then break off: under uvicorn
    # the socket closes mid-body; in process SimulatorTransport maps it.
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(partial) + 4096).encode("ascii")),
        (b"date", formatdate(now(), usegmt=True).encode("ascii")),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if partial:
        await send({"type": "http.response.body", "body": partial, "more_body": True})
    raise SimulatedDisconnect("simulated connection drop")


async def _wait_out(
    latency: float, *, receive: Receive | None, stopping: Stopping | None
) -> Literal["waited", "left", "stopped"]:
    """Wait out a latency fault: to its end, until the client leaves, or until the server
    that serves the request stops (``stopping``)."""
    if stopping is None:
        return "left" if await _client_left(receive, within=latency) else "waited"
    with stopping.cut_short() as scope:
        left = await _client_left(receive, within=latency)
    if scope.cancelled_caught:
        return "stopped"
    return "left" if left else "waited"


async def _client_left(receive: Receive | None, *, within: float) -> bool:
    """Wait ``within`` seconds; return True at once if the client disconnects meanwhile."""
    if receive is None:
        await anyio.sleep(within)
        return False
    left = False
    async with anyio.create_task_group() as tasks:

        async def watch() -> None:
            nonlocal left
            # The body is read: the next message is the client's disconnect.
            while (await receive())["type"] != "http.disconnect":
                pass
            left = True
            tasks.cancel_scope.cancel()

        tasks.start_soon(watch)
        await anyio.sleep(within)
        tasks.cancel_scope.cancel()
    return left


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # http.disconnect: the client went away; answer whatever was read
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def lifespan(receive: Receive, send: Send) -> None:
    """Answer the ASGI lifespan protocol: nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

"""A misbehaving HTTP/1.1 server on 127.0.0.1, for testing the client against hostile replies.

Each test scripts how the data call is answered (a :data:`Behaviour`);
``token.php`` always gets a normal token envelope, so the misbehaviour meets
the call under test and not the token fetch. The server runs its own asyncio
loop in a thread, so it serves tests running under asyncio and trio alike, and
:func:`serve` stops it, open connections included, when the block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http
import json
import secrets
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

import anyio
import attrs
import httpx
import pytest

from contactnow_async import ContactNow, TransportError

__all__ = [
    "PASSWORD",
    "USERNAME",
    "WIRE",
    "Behaviour",
    "HostileServer",
    "Peer",
    "Request",
    "answering",
    "client",
    "envelope",
    "reply",
    "serve",
]

USERNAME = "hostile-user"
PASSWORD = "Hostile-Pw-7c1e"
#: How long the thread may take to start or stop before the test fails.
_THREAD_GRACE = 5.0


@attrs.frozen
class Request:
    """One request as the server read it; header names are lower case."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes = attrs.field(repr=False)

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.target).path

    @property
    def script(self) -> str:
        """``database`` for ``/database.php?...``."""
        return self.path.rsplit("/", 1)[-1].removesuffix(".php")

    @property
    def params(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.target).query))


class Peer:
    """The server's end of one connection, as a behaviour drives it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def send(self, data: bytes) -> bool:
        """Write ``data`` now; False once the client has gone."""
        if self._writer.is_closing():
            return False
        self._writer.write(data)
        try:
            await self._writer.drain()
        except ConnectionError:
            return False
        return True

    async def drip(self, data: bytes, *, every: float) -> None:
        """Send ``data`` one byte at a time, ``every`` seconds apart, until the client goes."""
        for index in range(len(data)):
            if not await self.send(data[index : index + 1]):
                return
            await asyncio.sleep(every)

    async def close(self) -> None:
        """Close the connection the orderly way (FIN)."""
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()

    def reset(self) -> None:
        """Abort the connection with a TCP reset (RST) instead of a close."""
        sock = self._writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._writer.transport.abort()

    async def wait_for_client_to_leave(self) -> None:
        """Read and discard until the client closes its end (or the server stops)."""
        while await self._reader.read(65536):
            pass


#: Answers one data request (anything but ``token.php``) on its connection.
Behaviour = Callable[[Request, Peer], Awaitable[None]]


def reply(
    status: int,
    body: bytes = b"",
    *,
    headers: Sequence[tuple[str, str]] = (),
    content_type: str | None = "application/json",
    declare_length: bool = True,
) -> bytes:
    """An HTTP/1.1 reply as bytes: ``Connection: close``, and a ``Content-Length``
    that tells the truth unless ``headers`` gives one, the status has no body, or
    ``declare_length`` is false (the body then ends where the connection does)."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Whatever"
    lines = [f"HTTP/1.1 {status} {phrase}", "Connection: close"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    named = {name.lower() for name, _ in headers}
    if declare_length and "content-length" not in named and status not in (204, 304):
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def envelope(body: Mapping[str, Any]) -> bytes:
    """A JSON body as the API writes it."""
    return json.dumps(body).encode()


def answering(
    body: bytes,
    *,
    status: int = 200,
    headers: Sequence[tuple[str, str]] = (),
    content_type: str | None = "application/json",
    declare_length: bool = True,
) -> Behaviour:
    """A behaviour that sends the same reply to every data request."""
    raw = reply(
        status, body, headers=headers, content_type=content_type, declare_length=declare_length
    )

    async def behaviour(request: Request, peer: Peer) -> None:
        await peer.send(raw)

    return behaviour


class HostileServer:
    """Serves ``behaviour`` on 127.0.0.1 from a thread; see :func:`serve`.

    ``requests`` holds every request read, token requests included, in order;
    ``tokens`` the token values issued.
    """

    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self.requests: list[Request] = []
        self.tokens: list[str] = []
        self.port = 0
        self._errors: list[BaseException] = []
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def data_requests(self) -> list[Request]:
        """The requests that were not for ``token.php``."""
        return [request for request in self.requests if request.script != "token"]

    @property
    def token_requests(self) -> list[Request]:
        return [request for request in self.requests if request.script == "token"]

    def start(self) -> None:
        self._thread.start()
        if not self._started.wait(_THREAD_GRACE):  # pragma: no cover -- a broken machine
            raise RuntimeError("the hostile server did not start")
        if self._errors:  # pragma: no cover -- could not listen
            raise self._errors[0]

    def stop(self) -> None:
        """Stop serving, cut every connection, and re-raise what a behaviour raised."""
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(_THREAD_GRACE)
        assert not self._thread.is_alive(), "the hostile server thread did not stop"
        if self._errors:
            raise self._errors[0]

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # pragma: no cover -- reported by start() or stop()
            self._errors.append(exc)
            self._started.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            while self._connections:  # a connection accepted meanwhile gets its turn
                for task, writer in list(self._connections.items()):
                    task.cancel()
                    writer.close()  # a task cancelled before it starts closes nothing
                await asyncio.gather(*self._connections, return_exceptions=True)
                await asyncio.sleep(0)
            await server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The task is made here, not by asyncio's streams: they log an error for
        # a connection task that ends cancelled, as each does when the server stops.
        task = asyncio.get_running_loop().create_task(self._connection(reader, writer))
        self._connections[task] = writer
        task.add_done_callback(lambda done: self._connections.pop(done, None))

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer)
        try:
            request = await _read_request(reader)
            if request is not None:
                self.requests.append(request)
                if request.script == "token":
                    await peer.send(self._token_reply())
                else:
                    await self._behaviour(request, peer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client left: what it saw is the test's business
        except Exception as exc:  # a broken behaviour: stop() raises it in the test
            self._errors.append(exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _token_reply(self) -> bytes:
        token = secrets.token_hex(20)
        self.tokens.append(token)
        expire = int(time.time()) + 43_200
        return reply(200, envelope({"success": True, "token": token, "expire": expire}))


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # connected and left without a request
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method=method, target=target, headers=headers, body=body)


@contextlib.contextmanager
def serve(behaviour: Behaviour) -> Iterator[HostileServer]:
    """A :class:`HostileServer` answering data requests with ``behaviour``, for the block."""
    server = HostileServer(behaviour)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every test's httpx client: each would load a CA bundle (50 ms)
    to talk plain http to 127.0.0.1. Made at first use: each worker imports this module
    at collection, and most never start a hostile server."""
    return ssl.create_default_context()


#: What :func:`client` runs on: set for each test by the ``wire`` fixture (conftest).
WIRE = {"transport": "given"}


@contextlib.asynccontextmanager
async def client(server: HostileServer, **options: Any) -> AsyncIterator[ContactNow]:
    """A client of ``server`` with the test credentials; no backoff unless asked.

    The wire (``WIRE``): ``given``, an httpx client made here (``timeout``, no
    redirects followed) and passed as ``http_client``; ``httpx`` or ``aiohttp``,
    the client's own pool on that wire (``transport=``). A test that passes its
    own ``http_client`` keeps it.
    """
    options.setdefault("retry_backoff", 0)
    options.setdefault("timeout", 5.0)
    async with contextlib.AsyncExitStack() as stack:
        if WIRE["transport"] != "given" and "http_client" not in options:
            options["transport"] = WIRE["transport"]
        elif "http_client" not in options:
            options["http_client"] = await stack.enter_async_context(
                httpx.AsyncClient(timeout=options["timeout"], verify=_tls())
            )
        yield await stack.enter_async_context(
            ContactNow(username=USERNAME, password=PASSWORD, base_url=server.base_url, **options)
        )


async def fails_after_sending(
    behaviour: Behaviour, call: Callable[[ContactNow], Awaitable[object]], attempts: int
) -> None:
    """``call`` against ``behaviour`` fails as a connection broken once the request was
    sent (TransportError, ``sent``), after ``attempts`` requests (2 retries allowed)."""
    with serve(behaviour) as server, anyio.fail_after(10):
        async with client(server, max_retries=2) as cn:
            with pytest.raises(TransportError, match="after the request was sent") as info:
                await call(cn)
    assert type(info.value) is TransportError
    assert info.value.sent is True
    assert len(server.data_requests) == attempts

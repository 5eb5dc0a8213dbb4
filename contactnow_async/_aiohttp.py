"""The ``[speed]`` wire: an httpx transport that sends over aiohttp.

:class:`AiohttpWire` is an ``httpx.AsyncBaseTransport``: the client's own pool
keeps httpx's request and response types (the transport layer reads the same
``httpx.Response`` whichever wire carried it) while aiohttp does the I/O. It
maps aiohttp's errors to httpx's as httpx itself would raise them, because
the transport decides from the error class whether the request may have
reached the server, and so whether a write may be sent again:

- could not connect (refused, DNS, TLS handshake): ``ConnectError``, not sent;
- no connection in time (connecting, or waiting for the pool): ``ConnectTimeout``, not sent;
- no data in time once connected: ``ReadTimeout``, sent;
- the connection failed once connected (reset, closed, a body cut short, a
  reply that is not HTTP, a 101 no request asked for): ``ReadError`` or
  ``RemoteProtocolError``, sent;
- anything else aiohttp raises: ``TransportError``, sent (the safe assumption).

aiohttp's own resend of a GET whose connection failed is turned off: whether
to send again is the transport's rule (only where a resend cannot duplicate
work). The session keeps no cookies (the API sets none) and follows no
redirect (the transport refuses them). The body is read raw, in the chunks
aiohttp hands over, or in one read when the reply declares its length within the
size cap (``_Body.read_whole``): ``_encoding`` undoes the Content-Encoding under the cap.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import io
import ssl
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import httpx
import yarl
from aiohttp.client_proto import ResponseHandler
from aiohttp.http_exceptions import HttpProcessingError

from ._redact import redact_query, redact_text

__all__ = ["AiohttpWire"]


#: What aiohttp raises for a failed request or reply (mapped by :func:`_as_httpx`).
_FAILURES = (aiohttp.ClientError, asyncio.TimeoutError)


def _as_httpx(exc: BaseException) -> httpx.TransportError:
    """The httpx error that says what ``exc`` (aiohttp's) says about the request.

    aiohttp's texts name the whole URL, query (token, password) included: the
    message is redacted, and the caller raises it outside its ``except`` block,
    so ``exc`` is not chained to it either (a traceback would print it).
    """
    message = redact_text(redact_query(str(exc))) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):  # once connected
        return httpx.ReadTimeout(message)
    if isinstance(exc, (aiohttp.ClientResponseError, aiohttp.ServerDisconnectedError)):
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        return httpx.ReadError(message)  # reset, closed or cut short once connected
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message)
    return httpx.TransportError(message)


class _Body(httpx.AsyncByteStream):
    """A reply's body as aiohttp hands it over, its errors mapped; while open, one of
    the wire's ``reading`` (see :meth:`AiohttpWire.aclose`)."""

    def __init__(
        self, response: aiohttp.ClientResponse, reading: weakref.WeakSet[aiohttp.ClientResponse]
    ) -> None:
        self._response = response
        self._reading = reading
        reading.add(response)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while True:
            try:
                chunk = await content.readany()
            except _FAILURES as exc:
                error = _as_httpx(exc)
                break
            if not chunk:
                return
            yield chunk
        raise error  # outside the except block: aiohttp's error is not its context

    async def read_whole(self) -> bytes:
        """The whole raw body at once (``_encoding.read_body`` calls it only for a
        reply that declares its length, within the size cap)."""
        try:
            return await self._response.read()
        except _FAILURES as exc:
            error = _as_httpx(exc)
        raise error

    async def aclose(self) -> None:
        # release() hands a fully read connection back to the pool, and closes
        # one whose body was not read to the end (it cannot be reused).
        self._reading.discard(self._response)
        self._response.release()


class _Handler(ResponseHandler):
    """aiohttp's connection protocol, but a reply that stops parsing inside its body (a bad
    chunk size, a chunk without its CRLF) ends the body's read with the error: aiohttp's
    parser drops the body's reader without one, and the read waited for the attempt's
    timeout (for ever without one) where httpx fails at once. Only that rare path runs here."""

    def set_exception(self, exc: BaseException, *args: Any, **kwargs: Any) -> None:
        # A parser's error, not a timeout's or a lost connection's. _payload is aiohttp's own
        # (a later aiohttp without it: no fix, rather than an error on every failure path).
        body = getattr(self, "_payload", None)
        parse_error = isinstance(exc, HttpProcessingError)
        if parse_error and body is not None and not body.is_eof() and body.exception() is None:
            body.set_exception(aiohttp.ClientPayloadError(f"the body does not parse: {exc}"))
        super().set_exception(exc, *args, **kwargs)


#: ``ClientTimeout`` objects by the phases they were made from (immutable: shared).
_timeouts: dict[tuple[Any, Any, Any], aiohttp.ClientTimeout] = {}


def _timeout(extensions: dict[str, Any]) -> aiohttp.ClientTimeout:
    """httpx's per-phase timeouts (``request.extensions["timeout"]``) as aiohttp's,
    made once for each set of values (a client sends the same ones every time)."""
    phases = extensions.get("timeout") or {}
    key = (phases.get("pool"), phases.get("connect"), phases.get("read"))
    timeout = _timeouts.get(key)
    if timeout is None:
        if len(_timeouts) >= 32:  # pragma: no cover -- 32 clients with their own timeouts
            _timeouts.clear()
        timeout = _timeouts[key] = aiohttp.ClientTimeout(
            total=None,
            connect=key[0],  # waiting for a pooled connection, and connecting
            sock_connect=key[1],
            sock_read=key[2],
        )
    return timeout


#: What httpx reads of a reply's head (httpcore lets h11 buffer 100 KiB of it), as
#: aiohttp's limits, which are per line and a count: a head the plain wire takes is read
#: here too (aiohttp's defaults refuse a line past 8 KiB, or a 129th header since 3.13.4).
#: Memory stays bounded: 256 lines of at most 100 KiB each.
_LINE_LIMIT = 100 * 1024
_COUNT_LIMIT: dict[str, Any] = (
    {"max_headers": 256} if "max_headers" in inspect.signature(aiohttp.ClientSession).parameters
    else {}
)  # fmt: skip


#: The longest body aiohttp sends as bytes without a ``ResourceWarning`` (an error where
#: warnings are, ``-W error``): a longer one goes as a ``BytesIO`` (sent in pieces, its
#: length declared all the same).
_LARGE_BODY = 1 << 20


class AiohttpWire(httpx.AsyncBaseTransport):
    """httpx's transport interface over one ``aiohttp.ClientSession`` (module docstring).

    The session is made at the first request, inside the running event loop.
    """

    def __init__(self, *, limits: httpx.Limits, tls: ssl.SSLContext) -> None:
        self._limits = limits
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None
        # The replies whose body is still to be read (closed by aclose()), and whether it was.
        self._reading: weakref.WeakSet[aiohttp.ClientResponse] = weakref.WeakSet()
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry or 0,
            ssl=self._tls,
        )
        handler: Callable[..., ResponseHandler] = _Handler  # see _Handler
        connector._factory = functools.partial(handler, loop=connector._loop)
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # every request names its own headers: none added
            max_line_size=_LINE_LIMIT,
            max_field_size=_LINE_LIMIT,
            **_COUNT_LIMIT,
        )
        # aiohttp sends a GET again, once, when the connection fails after it was
        # sent: a resend behind the transport's back, and a GET is not always a
        # read (agent.php actions are GETs). The transport alone decides (the
        # attribute aiohttp's own test client clears; tests count every send).
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None:
            self._session = self._open()
        content = request.content  # the transport sends bytes, never a stream
        body: bytes | io.BytesIO | None = content or None
        if len(content) > _LARGE_BODY:  # bytes past it: aiohttp warns (a ResourceWarning)
            body = io.BytesIO(content)
        url = request.url
        if url.userinfo and "authorization" in request.headers:
            # Sent as the header made of it (aiohttp refuses both, with a ValueError).
            url = url.copy_with(userinfo=b"")
        try:
            response = await self._session.request(
                request.method,
                yarl.URL(str(url), encoded=True),  # httpx encoded it already
                headers=request.headers.multi_items(),
                data=body,
                allow_redirects=False,
                timeout=_timeout(request.extensions),
            )
        except _FAILURES as exc:
            error = _as_httpx(exc)
        else:
            if response.status == 101:  # no request asks for an upgrade: httpx's parser
                response.close()  # refuses the reply (aiohttp hands it over as final)
                raise httpx.RemoteProtocolError("a switch of protocols (HTTP 101) not asked for")
            if self._closed:  # its head came as aclose() ran: its body reads as closed too
                response.close()
            return httpx.Response(
                response.status,
                headers=response.raw_headers,
                stream=_Body(response, self._reading),
                request=request,
                extensions={"reason_phrase": (response.reason or "").encode("latin-1", "replace")},
            )
        raise error  # outside the except block: aiohttp's error is not its context

    async def aclose(self) -> None:
        # Closing the session alone leaves a read of a reply's body waiting for data that
        # never comes (until its timeout; for ever without one), and a read begun after it
        # raises aiohttp's own RuntimeError: each reply is closed first, so its reader
        # raises the error of a closed connection.
        self._closed = True
        for response in list(self._reading):
            response.close()
        self._reading.clear()
        if self._session is not None:
            await self._session.close()

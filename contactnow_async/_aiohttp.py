"""The ``[speed]`` wire: httpx's API over aiohttp (``httpx-aiohttp``'s transport).

httpx-aiohttp maps aiohttp's errors to httpx's loosely: a connection reset
after the request was sent, or a read timeout, comes out as a connect
timeout, which would tell the transport nothing was sent, and a create could
be sent twice. :class:`AiohttpWire` maps them again, from the aiohttp error
behind each, as httpx itself would raise them:

- could not connect (refused, DNS, TLS handshake): ``ConnectError``, not sent;
- no connection in time (connecting, or waiting for the pool): ``ConnectTimeout``, not sent;
- no data in time once connected: ``ReadTimeout``, sent;
- the connection failed once connected (reset, closed, a body cut short, a
  reply that is not HTTP): ``ReadError`` or ``RemoteProtocolError``, sent;
- anything else aiohttp raises: ``TransportError``, sent (the safe assumption).

aiohttp's own resend of a GET whose connection failed is turned off: whether
to send again is the transport's rule (only where a resend cannot duplicate work).

The body is read raw (no decompression: ``_encoding`` undoes the
Content-Encoding under the size cap), in the chunks aiohttp hands over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = ["AiohttpWire"]


def _as_httpx(exc: BaseException) -> httpx.TransportError:
    """The httpx error that says what ``exc`` (aiohttp's) says about the request."""
    message = str(exc) or type(exc).__name__
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


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    """Re-raise httpx-aiohttp's and aiohttp's errors as :func:`_as_httpx` says."""
    try:
        yield
    except httpx.TransportError as exc:
        cause = exc.__cause__
        if isinstance(cause, (aiohttp.ClientError, asyncio.TimeoutError)):
            raise _as_httpx(cause) from cause
        raise
    except aiohttp.ClientError as exc:
        raise _as_httpx(exc) from exc


class _MappedStream(httpx.AsyncByteStream):
    """A reply's body, its errors mapped."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with _mapped():
            await self._stream.aclose()


class AiohttpWire(AiohttpTransport):
    """httpx-aiohttp's transport, its errors mapped as httpx's own (module docstring)."""

    def get_client(self) -> aiohttp.ClientSession:
        session = super().get_client()
        # aiohttp sends a GET again, once, when the connection fails after it was
        # sent: a resend behind the transport's back, and a GET is not always a
        # read (agent.php actions are GETs). The transport alone decides (the
        # attribute aiohttp's own test client clears; tests count every send).
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _mapped():
            response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _MappedStream(response.stream)
        return response

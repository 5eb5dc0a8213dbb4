"""The client's own ``http_client``: plain httpx, or httpx over aiohttp (the ``[speed]`` extra).

``transport="auto"`` (the default) takes aiohttp when it is installed (the
``[speed]`` extra), the client runs on asyncio, and the environment names no proxy
(aiohttp would not read ``HTTPS_PROXY`` as httpx does); otherwise plain httpx.
The choice is made at the first request, where the event loop is known.
``"httpx"`` never takes aiohttp; ``"aiohttp"`` always does, and refuses trio.
An ``httpx.AsyncBaseTransport`` instance is the one the own pool sends through
(``httpx.MockTransport`` in a test: the client's own path, with no network). A
client given its own ``http_client`` uses that, whatever it is.

The client's own pool is sent to straight (:class:`Pool`): its requests go to
the httpx transport underneath, past ``AsyncClient.send`` (auth, redirects,
cookies, event hooks: the pool uses none of them), unless the environment
names a proxy, which only ``AsyncClient`` routes to.
"""

from __future__ import annotations

import functools
import ssl
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Literal

import attrs
import httpx

from ._encoding import ACCEPT_ENCODING
from ._faults import ENTERED, OTHER_LIBRARY, OTHER_LOOP

__all__ = [
    "Binding",
    "Pool",
    "PoolKind",
    "PoolMaker",
    "UrlCache",
    "Wire",
    "check_wire",
    "own_http_client",
    "pool_kind",
]

WireName = Literal["auto", "httpx", "aiohttp"]
#: What the client's own pool runs on: a name, or an httpx transport to send through.
Wire = WireName | httpx.AsyncBaseTransport
#: A request's query, as :class:`~contactnow_async._exchange.ApiRequest` holds it.
Params = tuple[tuple[str, str], ...]

_SPEED = "pip install 'contactnow-async[speed]'"


def check_wire(wire: Wire, *, own: bool) -> None:
    """Refuse an unknown ``transport``, one chosen beside a given ``http_client``
    (``own`` false), or ``"aiohttp"`` without the extra installed."""
    if isinstance(wire, httpx.AsyncBaseTransport):
        if not own:
            raise ValueError(
                "transport chooses the client's own http_client: give one or the other"
            )
        return
    if wire not in ("auto", "httpx", "aiohttp"):
        raise ValueError(
            "transport must be 'auto', 'httpx', 'aiohttp' or an httpx.AsyncBaseTransport,"
            f" not {wire!r}"
        )
    if wire != "auto" and not own:
        raise ValueError("transport chooses the client's own http_client: give one or the other")
    if wire == "aiohttp" and not _speed_installed():
        raise ImportError(f"transport='aiohttp' needs aiohttp: {_SPEED}")


def _speed_installed() -> bool:
    import importlib.util  # only a client that may run on aiohttp asks: not at import

    return importlib.util.find_spec("aiohttp") is not None


def _on_asyncio() -> bool:
    try:
        import sniffio  # trio and anyio set it; trio requires it
    except ImportError:  # pragma: no cover -- without sniffio, trio is not installed either
        import asyncio  # only here: importing it costs more than the rest of this module

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True
    try:
        return bool(sniffio.current_async_library() == "asyncio")
    except sniffio.AsyncLibraryNotFoundError:
        return False


#: Whose pool a client sends through (:class:`Binding`): its own, the caller's
#: ``http_client``, or the client's own over the caller's ``transport``.
PoolKind = Literal["own", "http_client", "transport"]


def pool_kind(*, given: bool, transport: Wire) -> PoolKind:
    """Whose pool a client sends through: the ``http_client`` it was ``given``, its own
    over the caller's ``transport``, or its own."""
    if given:
        return "http_client"
    return "own" if isinstance(transport, str) else "transport"


class Binding:
    """What a client belongs to: one ``async with`` block, and where its pool may be used.

    ``kind`` says whose pool it is:

    - ``"own"``: the client's own network pool serves the event loop that first enters
      or uses it. Its connections (and aiohttp's session) used from another loop fail
      obscurely ("Event loop is closed"), hang, or tear the pool's state: refused clearly.
    - ``"http_client"``: the caller's ``httpx.AsyncClient`` is not refused from another
      loop (a test runner's), only from another async library than the one that first
      used it: httpcore makes its pool's locks for that one (under the other, asyncio's
      "no running event loop" or trio's "must be called from async context"), refused
      clearly. Its kept-alive connections still belong to the loops that opened them
      (from another: "Event loop is closed"), which is the caller's pool's to manage.
    - ``"transport"``: the client's own pool over the caller's transport (a test's, in
      memory) serves any loop of either library; ``moved`` is called when a call comes
      from another library than the last one's (the client then makes its per-library
      state, its concurrency limiter, again).
    """

    __slots__ = ("_entered", "_kind", "_library", "_loop", "_moved")

    def __init__(self, kind: PoolKind = "own", *, moved: Callable[[], None] | None = None) -> None:
        self._kind = kind
        self._moved = moved
        self._entered = False
        self._loop: object | None = None
        self._library: str | None = None

    def enter(self) -> None:
        """Enter the one ``async with`` block (a second would close the client under it)."""
        self.check()
        if self._entered:
            raise RuntimeError(ENTERED)
        self._entered = True

    def check(self) -> None:
        """Take the caller's loop as the pool's, or raise RuntimeError from another one
        (another library's, for the caller's ``http_client``)."""
        loop = _running_loop()
        if loop is self._loop or loop is None:
            return
        if self._kind == "own":
            if self._loop is not None:
                raise RuntimeError(OTHER_LOOP)
            self._loop = loop
            return
        library = _library(loop)
        if self._library is not None and library != self._library:
            if self._kind == "http_client":
                raise RuntimeError(OTHER_LIBRARY.format(first=self._library, now=library))
            if self._moved is not None:
                self._moved()
        # The loop is kept (not its id): a later loop can never be taken for it.
        self._loop, self._library = loop, library


def _library(loop: object) -> str:
    """The async library of a loop :func:`_running_loop` gave."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None and isinstance(loop, asyncio.AbstractEventLoop):
        return "asyncio"
    return "trio"


def _running_loop() -> object | None:
    """The event loop of the caller: trio's run (its token), or asyncio's loop; None outside one.

    Trio is asked first where sniffio says it runs in this thread: a guest run of trio on
    an asyncio loop (``trio.lowlevel.start_guest_run``) runs its tasks on the host's
    thread, where asyncio's loop answers too, though the call is trio's.
    """
    sniffio = sys.modules.get("sniffio")  # trio imports it: loaded wherever trio is
    if (
        sniffio is not None
        and getattr(getattr(sniffio, "thread_local", None), "name", None) == "trio"
    ):
        token = _trio_token()
        if token is not None:
            return token
    asyncio = sys.modules.get("asyncio")  # imported by any program on asyncio: not here
    if asyncio is not None:
        try:
            loop: object = asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            return loop
    return _trio_token()  # an older trio, which does not set sniffio's thread-local


def _trio_token() -> object | None:
    trio = sys.modules.get("trio")
    if trio is None:
        return None
    try:
        token: object = trio.lowlevel.current_trio_token()
    except RuntimeError:
        return None
    return token


def chosen(wire: WireName) -> Literal["httpx", "aiohttp"]:
    """What ``wire`` means here and now (called inside the running event loop)."""
    if wire == "httpx":
        return "httpx"
    if wire == "aiohttp":
        if not _on_asyncio():
            raise RuntimeError("transport='aiohttp' runs on asyncio only; use 'httpx' on trio")
        return "aiohttp"
    if _on_asyncio() and _speed_installed() and not _proxy_in_environment():
        return "aiohttp"
    return "httpx"


def _proxy_in_environment() -> bool:
    """Whether the environment names a proxy httpx would send through: ``HTTP_PROXY``,
    ``HTTPS_PROXY`` or ``ALL_PROXY`` (``NO_PROXY`` alone, or ``FTP_PROXY``, names none)."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CA bundle), made once per process and
    shared by every client's own pool whose base URL is https: loading the bundle
    takes ~18 ms here."""
    return httpx.create_ssl_context()


@functools.cache
def no_tls_context() -> ssl.SSLContext:
    """The context of a pool whose base URL is http (a simulator, a gateway on the host).

    Every request of a client is under its base URL, so such a pool never makes a TLS
    connection, and loading the CA bundle for it would be wasted. The context still
    requires a verified certificate and the host name, but trusts no authority: were
    an https URL ever sent through it, the handshake would fail, never go unverified.
    """
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class Pool:
    """Where requests go: an ``httpx.AsyncClient``, or straight to its transport.

    ``direct`` is the transport of the client's own pool (None for a client the
    caller gave, whose hooks, auth, cookies and mounts must apply): a request
    for it is built here, with the client's default headers and timeout, and
    handed to the transport as ``AsyncClient.send`` would hand it.

    A GET (no body) for ``direct`` is built once per URL and sent again as it is
    when the transport is ``ours`` (httpx's or the aiohttp wire, made by
    :func:`own_http_client`: both only read a request): a poll or a repeated read
    sends the same URL (the same ``httpx.URL`` object, from :class:`UrlCache`)
    again. The few kept are forgotten together when there are ``size``. A
    transport the caller gave (``transport=``) gets a new request every time,
    as it may change one, and may answer from memory.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        direct: httpx.AsyncBaseTransport | None = None,
        ours: bool = True,
        size: int = 64,
    ) -> None:
        self.client = client
        self._direct = direct
        self._ours = direct is not None and ours
        self._timeout = client.timeout.as_dict()
        # The headers of each kind of request (GET, or a POST of one content type),
        # made once: httpx copies a Headers object without parsing it again.
        self._headers: dict[str | None, httpx.Headers] = {}
        # GETs by the id of their URL; the URL is kept beside it, so an id is
        # never one of a URL since forgotten (its object is alive while kept here).
        self._gets: dict[int, tuple[httpx.URL, httpx.Request]] = {}
        self._size = size

    def build(self, url: httpx.URL, body: bytes | None, content_type: str | None) -> httpx.Request:
        """A GET of ``url``, or a POST of ``body`` (of ``content_type``) to it."""
        method = "GET" if body is None else "POST"
        if self._direct is None:
            return self.client.build_request(
                method, url, content=body, headers=_our_headers(content_type)
            )
        plain_get = body is None and content_type is None and self._ours
        if plain_get:
            kept = self._gets.get(id(url))
            if kept is not None and kept[0] is url:
                return kept[1]
        headers = self._headers.get(content_type)
        if headers is None:
            headers = self._headers[content_type] = httpx.Headers(self.client.headers)
            headers.update(_our_headers(content_type))
            if url.userinfo:  # every request is under the one base URL: made once
                headers["Authorization"] = basic_auth(url)
        request = httpx.Request(
            method, url, headers=headers, content=body, extensions={"timeout": self._timeout}
        )
        if plain_get:
            if len(self._gets) >= self._size:
                self._gets.clear()
            self._gets[id(url)] = (url, request)
        return request

    @property
    def waits_on_the_network(self) -> bool:
        """Whether every send waits for a reply from the network (the client's own
        transport): then a call needs no schedule point of its own to let others run.
        A client or transport the caller gave may answer from memory
        (``httpx.MockTransport``)."""
        return self._ours

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; the response's body is left to stream."""
        if self._direct is None:
            return await self.client.send(request, stream=True)
        return await self._direct.handle_async_request(request)

    async def aclose(self) -> None:
        await self.client.aclose()


def basic_auth(url: httpx.URL) -> str:
    """The ``Authorization`` header of the user info in ``url`` (a gateway's login in the
    base URL), as ``AsyncClient.send`` makes it: the straight path to the transport, which
    reads only the host and the path, would drop it."""
    import base64  # only a base URL with user info needs it

    pair = f"{url.username}:{url.password}".encode()
    return f"Basic {base64.b64encode(pair).decode('ascii')}"


def _our_headers(content_type: str | None) -> dict[str, str]:
    # Only what _encoding can undo under the size cap (not br or zstd, even if installed).
    headers = {"Accept-Encoding": ACCEPT_ENCODING}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


#: The part of a number ``timeout`` that connecting (and waiting for the pool) may take.
CONNECT_SHARE = 0.9


def own_http_client(
    wire: Wire, *, timeout: float | httpx.Timeout, max_connections: int, https: bool = True
) -> Pool:
    """The pool a client makes for itself: keep-alive connections up to ``max_connections``,
    verifying TLS with :func:`tls_context` if ``https`` (the base URL's scheme), and with
    :func:`no_tls_context` if not.

    A number ``timeout`` bounds the whole attempt (the transport's cancel scope); the
    pool's connect timeout is a little shorter, so a connection that is never accepted
    ends as httpx's ``ConnectTimeout`` (nothing was sent: a write may be tried again)
    rather than at the attempt's bound, which cannot tell connecting from waiting.
    """
    if not isinstance(timeout, httpx.Timeout):
        connect = timeout * CONNECT_SHARE
        timeout = httpx.Timeout(timeout, connect=connect, pool=connect)
    if isinstance(wire, httpx.AsyncBaseTransport):
        # The caller's transport takes every request: no proxy from the environment.
        client = httpx.AsyncClient(timeout=timeout, transport=wire, trust_env=False)
        return Pool(client, direct=wire, ours=False)
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    tls = tls_context() if https else no_tls_context()
    transport: httpx.AsyncBaseTransport
    if chosen(wire) == "aiohttp":
        from ._aiohttp import AiohttpWire  # aiohttp is imported only when it is used

        transport = AiohttpWire(limits=limits, tls=tls)
    else:
        transport = httpx.AsyncHTTPTransport(limits=limits, verify=tls)
    client = httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport)
    # A proxy named in the environment is mounted on the client: then go through it.
    direct = None if _proxy_in_environment() else transport
    return Pool(client, direct=direct)


@attrs.frozen
class PoolMaker:
    """How the client's own pool is made at its first request (:func:`own_http_client`,
    told whether the base URL is https)."""

    wire: Wire
    timeout: float | httpx.Timeout
    max_connections: int

    def __call__(self, *, https: bool) -> Pool:
        return own_http_client(
            self.wire, timeout=self.timeout, max_connections=self.max_connections, https=https
        )

    async def aclose_unmade(self) -> None:
        """Close the caller's transport when no pool was made (the pool closes it)."""
        if isinstance(self.wire, httpx.AsyncBaseTransport):
            await self.wire.aclose()


class UrlCache:
    """Request URLs, their query encoded here as httpx encodes ``params=`` (urlencode).

    httpx parses a URL string character by character, twice when it merges
    ``params=`` in. A poll or a repeated read sends the same URL again: it is
    encoded and parsed once and kept by its parts (an ``httpx.URL`` is
    immutable); the few kept are forgotten together when there are ``size``.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._urls: dict[tuple[str, Params], httpx.URL] = {}

    def url(self, base: str, params: Params) -> httpx.URL:
        """``base`` with the query string of ``params``."""
        key = (base, params)
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= self._size:
                self._urls.clear()
            query = urllib.parse.urlencode(params)
            url = self._urls[key] = httpx.URL(f"{base}?{query}" if query else base)
        return url

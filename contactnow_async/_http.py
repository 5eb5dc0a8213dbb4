"""The client's own ``http_client``: plain httpx, or httpx over aiohttp (the ``[speed]`` extra).

``transport="auto"`` (the default) takes aiohttp when ``httpx-aiohttp`` is
installed, the client runs on asyncio, and the environment names no proxy
(aiohttp would not read ``HTTPS_PROXY`` as httpx does); otherwise plain httpx.
The choice is made at the first request, where the event loop is known.
``"httpx"`` never takes aiohttp; ``"aiohttp"`` always does, and refuses trio.
A client given its own ``http_client`` uses that, whatever it is.
"""

from __future__ import annotations

import importlib.util
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Literal

import httpx

__all__ = ["UrlCache", "Wire", "check_wire", "own_http_client"]

Wire = Literal["auto", "httpx", "aiohttp"]

_SPEED = "pip install 'contactnow-async[speed]'"


def check_wire(wire: Wire, *, own: bool) -> None:
    """Refuse an unknown ``transport``, one chosen beside a given ``http_client``
    (``own`` false), or ``"aiohttp"`` without the extra installed."""
    if wire not in ("auto", "httpx", "aiohttp"):
        raise ValueError(f"transport must be 'auto', 'httpx' or 'aiohttp', not {wire!r}")
    if wire != "auto" and not own:
        raise ValueError("transport chooses the client's own http_client: give one or the other")
    if wire == "aiohttp" and not _speed_installed():
        raise ImportError(f"transport='aiohttp' needs httpx-aiohttp: {_SPEED}")


def _speed_installed() -> bool:
    return importlib.util.find_spec("httpx_aiohttp") is not None


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


def chosen(wire: Wire) -> Literal["httpx", "aiohttp"]:
    """What ``wire`` means here and now (called inside the running event loop)."""
    if wire == "httpx":
        return "httpx"
    if wire == "aiohttp":
        if not _on_asyncio():
            raise RuntimeError("transport='aiohttp' runs on asyncio only; use 'httpx' on trio")
        return "aiohttp"
    if _on_asyncio() and _speed_installed() and not urllib.request.getproxies():
        return "aiohttp"
    return "httpx"


def own_http_client(
    wire: Wire, *, timeout: float | httpx.Timeout, max_connections: int
) -> httpx.AsyncClient:
    """The pool a client makes for itself: keep-alive connections up to ``max_connections``."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    if chosen(wire) == "aiohttp":
        from ._aiohttp import AiohttpWire  # aiohttp is imported only when it is used

        return httpx.AsyncClient(
            timeout=timeout, limits=limits, transport=AiohttpWire(limits=limits)
        )
    return httpx.AsyncClient(timeout=timeout, limits=limits)


class UrlCache:
    """Request URLs, their query encoded here as httpx encodes ``params=`` (urlencode).

    httpx parses a URL string character by character, twice when it merges
    ``params=`` in. A poll or a repeated read sends the same URL again: it is
    parsed once and kept (an ``httpx.URL`` is immutable); the few kept are
    forgotten together when there are ``size`` of them.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._urls: dict[str, httpx.URL] = {}

    def url(self, base: str, params: Sequence[tuple[str, str]]) -> httpx.URL:
        """``base`` with the query string of ``params``."""
        query = urllib.parse.urlencode(params)
        text = f"{base}?{query}" if query else base
        url = self._urls.get(text)
        if url is None:
            if len(self._urls) >= self._size:
                self._urls.clear()
            url = self._urls[text] = httpx.URL(text)
        return url

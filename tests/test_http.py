"""The client's own http_client: which wire it runs on, and aiohttp's errors mapped as httpx's."""

from __future__ import annotations

import types

import httpx
import pytest

from contactnow_async import ContactNow
from contactnow_async._http import chosen
from tests._helpers import PASSWORD, USERNAME

aiohttp = pytest.importorskip("aiohttp", reason="the [speed] extra is part of [test]")
_aiohttp_wire = pytest.importorskip("contactnow_async._aiohttp")

pytestmark = pytest.mark.anyio


async def test_auto_takes_aiohttp_on_asyncio_and_httpx_on_trio(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    assert chosen("auto") == ("aiohttp" if anyio_backend == "asyncio" else "httpx")
    assert chosen("httpx") == "httpx"
    cn = ContactNow(username=USERNAME, password=PASSWORD, base_url="http://127.0.0.1:1/")
    async with cn:
        wire = type(cn._transport.http._transport).__name__
    assert wire == ("AiohttpWire" if anyio_backend == "asyncio" else "AsyncHTTPTransport")


async def test_a_proxy_in_the_environment_keeps_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert chosen("auto") == "httpx"  # aiohttp would not read it


async def test_aiohttp_on_trio_is_refused(anyio_backend: str) -> None:
    if anyio_backend == "asyncio":
        assert chosen("aiohttp") == "aiohttp"
    else:
        with pytest.raises(RuntimeError, match="asyncio only"):
            chosen("aiohttp")


def test_the_transport_option_is_checked() -> None:
    with pytest.raises(ValueError, match="transport must be"):
        ContactNow(username=USERNAME, password=PASSWORD, transport="curl")  # type: ignore[arg-type]  # on purpose
    with pytest.raises(ValueError, match="give one or the other"):
        ContactNow(
            username=USERNAME,
            password=PASSWORD,
            transport="aiohttp",
            http_client=httpx.AsyncClient(),
        )
    cn = ContactNow(username=USERNAME, password=PASSWORD, transport="httpx")
    assert cn.options.transport == "httpx"


_KEY = types.SimpleNamespace(host="127.0.0.1", port=1, ssl=False)


@pytest.mark.parametrize(
    ("error", "mapped"),
    [
        (aiohttp.ClientConnectorError(_KEY, OSError(111, "refused")), httpx.ConnectError),
        (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientOSError(104, "reset by peer"), httpx.ReadError),
        (aiohttp.ClientPayloadError("cut short"), httpx.ReadError),
        (aiohttp.ClientError("anything"), httpx.TransportError),
    ],
)
def test_aiohttp_errors_say_what_httpx_would(
    error: Exception, mapped: type[httpx.TransportError]
) -> None:
    found = _aiohttp_wire._as_httpx(error)
    assert type(found) is mapped
    # Only a failure to connect says the request was never sent.
    never_sent = isinstance(found, (httpx.ConnectError, httpx.ConnectTimeout))
    assert never_sent is isinstance(
        error, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
    )

"""The client's own http_client: which wire it runs on, and aiohttp's errors mapped as httpx's."""

from __future__ import annotations

import base64
import json
import ssl
import types
from typing import Any

import httpx
import pytest

from contactnow_async import ContactNow
from contactnow_async._encoding import TooLarge, read_body
from contactnow_async._http import Pool, UrlCache, chosen, no_tls_context, tls_context
from tests._helpers import PASSWORD, USERNAME
from tests.hostile._server import PASSWORD as HOSTILE_PASSWORD
from tests.hostile._server import USERNAME as HOSTILE_USER
from tests.hostile._server import HostileServer, Peer, Request, answering, serve

aiohttp = pytest.importorskip("aiohttp", reason="the [speed] extra is part of [test]")
_aiohttp_wire = pytest.importorskip("contactnow_async._aiohttp")

pytestmark = pytest.mark.anyio


async def test_auto_takes_aiohttp_on_asyncio_and_httpx_on_trio(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy(monkeypatch)
    assert chosen("auto") == ("aiohttp" if anyio_backend == "asyncio" else "httpx")
    assert chosen("httpx") == "httpx"
    cn = ContactNow(username=USERNAME, password=PASSWORD, base_url="http://127.0.0.1:1/")
    async with cn:
        wire = type(cn._transport.http._transport).__name__
    assert wire == ("AiohttpWire" if anyio_backend == "asyncio" else "AsyncHTTPTransport")


async def test_a_proxy_in_the_environment_keeps_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert chosen("auto") == "httpx"  # aiohttp would not read it


async def test_no_proxy_alone_names_no_proxy(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NO_PROXY (common where a proxy is not) and FTP_PROXY route no request of ours
    # through a proxy: the [speed] wire and the straight path stay.
    _no_proxy(monkeypatch)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    monkeypatch.setenv("FTP_PROXY", "http://127.0.0.1:3128")
    assert chosen("auto") == ("aiohttp" if anyio_backend == "asyncio" else "httpx")

    async def send(*args: object, **kwargs: object) -> httpx.Response:
        raise AssertionError("the own pool went through AsyncClient.send")

    monkeypatch.setattr(httpx.AsyncClient, "send", send)
    with serve(answering(AGENTS_BODY)) as server:
        async with _own(server, "auto") as cn:
            agents = await cn.agents.read()
    assert [agent.agent_id for agent in agents] == ["1"]


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


AGENTS_BODY = b'{"success":true,"total":1,"list":[{"agentid":"1","name":"Joe"}]}'

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


def test_aiohttp_error_texts_lose_the_query_of_the_url_they_name() -> None:
    url = "http://127.0.0.1:1/token.php?action=get&username=u&password=Pw-secret-9"
    found = _aiohttp_wire._as_httpx(
        aiohttp.ConnectionTimeoutError(f"Connection timeout to host {url}")
    )
    assert str(found) == "Connection timeout to host http://127.0.0.1:1/token.php?<redacted>"


# -- the client's own pool: sent straight to its transport, with the right headers --


def _own(server: HostileServer, wire: str, **options: Any) -> ContactNow:
    options.setdefault("base_url", server.base_url)
    return ContactNow(
        username=HOSTILE_USER,
        password=HOSTILE_PASSWORD,
        transport=wire,  # type: ignore[arg-type]  # one of the literals
        retry_backoff=0,
        **options,
    )


def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(params=["httpx", "aiohttp"])
def own_wire(
    request: pytest.FixtureRequest, anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Each wire the client's own pool can run on here, with no proxy in the environment."""
    wire = str(request.param)
    if wire == "aiohttp" and anyio_backend != "asyncio":
        pytest.skip("aiohttp runs on asyncio only")
    _no_proxy(monkeypatch)
    return wire


async def test_the_own_pool_sends_straight_to_its_transport(
    own_wire: str, monkeypatch: pytest.MonkeyPatch
) -> None:

    async def send(*args: object, **kwargs: object) -> httpx.Response:
        raise AssertionError("the own pool went through AsyncClient.send")

    monkeypatch.setattr(httpx.AsyncClient, "send", send)
    with serve(answering(AGENTS_BODY)) as server:
        async with _own(server, own_wire) as cn:
            agents = await cn.agents.read()
            await cn.agents.create([{"name": "Ann", "username": "ann", "password": "pw"}])
    assert [agent.agent_id for agent in agents] == ["1"]
    read, create = server.data_requests
    for request in (read, create):
        assert request.headers["accept-encoding"] == "gzip, deflate"  # what _encoding undoes
        assert request.headers["user-agent"].startswith("python-httpx/")  # the same on both wires
        assert request.headers["host"] == f"127.0.0.1:{server.port}"
    assert read.method == "GET"
    assert "content-type" not in read.headers
    assert (create.method, create.headers["content-type"]) == ("POST", "application/json")
    assert json.loads(create.body) == [{"name": "Ann", "username": "ann", "password": "pw"}]


async def test_a_proxy_in_the_environment_goes_through_the_httpx_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_proxy(monkeypatch)
    with serve(answering(AGENTS_BODY)) as server:
        # httpx routes (or not: it may bypass loopback) what goes through AsyncClient.
        monkeypatch.setenv("HTTP_PROXY", server.base_url)
        sent: list[str] = []
        real_send = httpx.AsyncClient.send

        async def send(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
            sent.append(request.url.path)
            return await real_send(self, request, **kwargs)

        monkeypatch.setattr(httpx.AsyncClient, "send", send)
        async with _own(server, "httpx") as cn:
            await cn.agents.read()
    assert sent == ["/token.php", "/database.php"]


async def test_a_given_client_keeps_its_hooks_and_cookies() -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    with serve(answering(AGENTS_BODY, headers=[("Set-Cookie", "lb=7; Path=/")])) as server:
        async with (
            httpx.AsyncClient(event_hooks={"request": [hook]}) as http,
            ContactNow(
                username=HOSTILE_USER,
                password=HOSTILE_PASSWORD,
                base_url=server.base_url,
                http_client=http,
            ) as cn,
        ):
            await cn.agents.read()
            await cn.agents.read()
    assert seen == ["/token.php", "/database.php", "/database.php"]
    assert server.data_requests[1].headers.get("cookie") == "lb=7"  # the caller's jar


async def test_the_own_pool_keeps_no_cookies(own_wire: str) -> None:
    with serve(answering(AGENTS_BODY, headers=[("Set-Cookie", "lb=7; Path=/")])) as server:
        async with _own(server, own_wire) as cn:
            await cn.agents.read()
            await cn.agents.read()
    assert [request.headers.get("cookie") for request in server.data_requests] == [None, None]


@pytest.mark.parametrize("proxied", [False, True])
async def test_a_base_url_user_info_is_sent_as_basic_auth_on_every_wire(
    own_wire: str, proxied: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A gateway in front of the API that asks for its own login: the straight path to
    # httpx's transport dropped the user info (only AsyncClient.send makes the header).
    expected = "Basic " + base64.b64encode(b"gw:p@ss:w0rd").decode()
    with serve(answering(AGENTS_BODY)) as server:
        if proxied:  # httpx routes (or not: it may bypass loopback) through AsyncClient.send
            monkeypatch.setenv("HTTP_PROXY", server.base_url)
        base_url = server.base_url.replace("http://", "http://gw:p%40ss%3Aw0rd@")
        async with _own(server, own_wire, base_url=base_url) as cn:
            await cn.agents.read()
            await cn.agents.create([{"name": "Ann", "username": "ann", "password": "pw"}])
            await cn.agents.read()  # a GET built once, sent again
    assert [request.headers.get("authorization") for request in server.requests] == [expected] * 4


async def test_a_given_transport_sees_the_base_url_user_info_as_basic_auth() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        if request.url.path.endswith("/token.php"):
            return httpx.Response(200, json={"success": True, "token": "a" * 40, "expire": 1e10})
        return httpx.Response(200, content=AGENTS_BODY)

    async with ContactNow(
        username=USERNAME,
        password=PASSWORD,
        base_url="http://gw:secret@127.0.0.1:9/",
        transport=httpx.MockTransport(answer),
    ) as cn:
        await cn.agents.read()
    assert seen == ["Basic " + base64.b64encode(b"gw:secret").decode()] * 2


def test_the_tls_context_is_made_once() -> None:
    assert tls_context() is tls_context()


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_only_an_https_base_url_loads_the_ca_bundle(own_wire: str, scheme: str) -> None:
    cn = ContactNow(
        username=USERNAME,
        password=PASSWORD,
        base_url=f"{scheme}://127.0.0.1:1/",
        transport=own_wire,  # type: ignore[arg-type]  # one of the literals
    )
    async with cn:
        wire = cn._transport.http._transport
        tls = wire._tls if own_wire == "aiohttp" else wire._pool._ssl_context  # type: ignore[attr-defined]  # the wires' own
    assert tls is (tls_context() if scheme == "https" else no_tls_context())


def test_the_http_pools_context_verifies_but_trusts_no_authority() -> None:
    # Never used for a handshake (every request is under the http base URL); were it
    # ever, the certificate would be refused rather than taken unverified.
    context = no_tls_context()
    assert context is no_tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0


@pytest.mark.parametrize("requests", [0, 1])
async def test_a_transport_given_is_closed_with_the_client_used_or_not(requests: int) -> None:
    # Closed only when the client had made its pool (at the first request): a client
    # closed before any left the caller's transport open, as the docstring says it is not.
    closed: list[bool] = []

    class Mock(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("token.php"):
            return httpx.Response(200, json={"success": True, "token": "t", "expire": 4102444800})
        return httpx.Response(200, json={"success": True, "total": 0, "list": []})

    async with ContactNow(
        username=USERNAME, password=PASSWORD, base_url="http://sim/", transport=Mock(handler)
    ) as cn:
        for _ in range(requests):
            await cn.agents.read()
    assert closed == [True]


async def test_an_httpx_transport_given_takes_every_request_straight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")  # not for the given transport
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    seen: list[str] = []
    closed: list[bool] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("token.php"):
            return httpx.Response(200, json={"success": True, "token": "t", "expire": 4102444800})
        return httpx.Response(200, json={"success": True, "total": 0, "list": []})

    class Mock(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    mock = Mock(handler)
    sent_through_client = []

    async def hook(request: httpx.Request) -> None:  # pragma: no cover -- must not run
        sent_through_client.append(request)

    cn = ContactNow(username=USERNAME, password=PASSWORD, base_url="http://sim/", transport=mock)
    assert cn.options.transport is mock
    async with cn:
        cn._transport.http.event_hooks["request"].append(hook)
        assert await cn.agents.read() == []
        # Not ours: it may change a request and answer from memory, so no GET is kept
        # and every call is a schedule point of its own.
        pool = cn._transport.pool
        assert pool.waits_on_the_network is False
        url = httpx.URL("http://sim/database.php")
        assert pool.build(url, None, None) is not pool.build(url, None, None)
    assert seen == ["/token.php", "/database.php"]
    assert sent_through_client == []  # past AsyncClient.send, to the transport itself
    assert closed == [True]
    with pytest.raises(ValueError, match="give one or the other"):
        ContactNow(
            username=USERNAME, password=PASSWORD, transport=mock, http_client=httpx.AsyncClient()
        )


# -- what the own pool makes once and sends again --


def test_the_own_pool_builds_a_get_once_per_url_and_a_post_every_time() -> None:
    transport = httpx.AsyncHTTPTransport()
    pool = Pool(httpx.AsyncClient(transport=transport), direct=transport, size=2)
    urls = UrlCache()
    first = urls.url("http://127.0.0.1:1/database.php", (("token", "a"),))
    again = urls.url("http://127.0.0.1:1/database.php", (("token", "a"),))
    new_token = urls.url("http://127.0.0.1:1/database.php", (("token", "b"),))
    assert again is first
    get = pool.build(first, None, None)
    assert pool.build(again, None, None) is get
    other = pool.build(new_token, None, None)
    assert other is not get and other.url == new_token
    assert (get.method, get.url) == ("GET", first)
    # An equal URL that is another object is built anew (kept by identity), not confused.
    assert pool.build(httpx.URL(str(first)), None, None) is not get
    assert pool.build(first, None, None) is not get  # size 2: forgotten together
    post = pool.build(first, b"[]", "application/json")
    assert post is not pool.build(first, b"[]", "application/json")
    assert post.method == "POST" and post.headers["content-type"] == "application/json"
    # A client the caller gave builds through it every time (its hooks may change it).
    given = Pool(httpx.AsyncClient())
    assert given.build(first, None, None) is not given.build(first, None, None)
    assert given.waits_on_the_network is False and pool.waits_on_the_network is True


def test_aiohttp_timeouts_are_made_once_for_each_set_of_values() -> None:
    five = httpx.Timeout(5.0).as_dict()
    made = _aiohttp_wire._timeout({"timeout": five})
    assert _aiohttp_wire._timeout({"timeout": dict(five)}) is made
    assert (made.total, made.connect, made.sock_connect, made.sock_read) == (None, 5, 5, 5)
    other = _aiohttp_wire._timeout({"timeout": httpx.Timeout(5.0, read=2.0, pool=1.0).as_dict()})
    assert (other.connect, other.sock_connect, other.sock_read) == (1.0, 5.0, 2.0)
    none = _aiohttp_wire._timeout({})
    assert (none.connect, none.sock_connect, none.sock_read) == (None, None, None)


class _Stream(httpx.AsyncByteStream):
    """Chunks, and ``read_whole`` for the same bytes: which one was used."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.used: list[str] = []

    async def __aiter__(self) -> Any:
        self.used.append("chunks")
        for start in range(0, len(self.body), 7):
            yield self.body[start : start + 7]

    async def read_whole(self) -> bytes:
        self.used.append("whole")
        return self.body


@pytest.mark.parametrize("encoding", [None, "gzip", "deflate, gzip"])
@pytest.mark.parametrize("declared", [True, False])
async def test_a_body_of_declared_length_is_read_whole_and_still_capped(
    encoding: str | None, declared: bool
) -> None:
    import gzip
    import zlib

    plain = AGENTS_BODY * 20
    raw = {None: plain, "gzip": gzip.compress(plain)}.get(encoding)
    if raw is None:
        raw = gzip.compress(zlib.compress(plain))
    headers = [("Content-Encoding", encoding)] if encoding else []
    if declared:
        headers.append(("Content-Length", str(len(raw))))

    def response() -> tuple[httpx.Response, _Stream]:
        stream = _Stream(raw)
        return httpx.Response(200, headers=headers, stream=stream), stream

    got, stream = response()
    assert await read_body(got, cap=len(plain)) == plain
    assert stream.used == (["whole"] if declared else ["chunks"])
    # The cap holds on the decoded bytes either way (the raw ones are fewer when encoded).
    got, stream = response()
    if encoding is None and declared:
        with pytest.raises(TooLarge):  # the declared length says it, before any read
            await read_body(got, cap=len(plain) - 1)
        assert stream.used == []
    else:
        with pytest.raises(TooLarge):
            await read_body(got, cap=len(plain) - 1)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # aiohttp runs on asyncio only
async def test_aiohttp_a_reply_whose_head_came_as_the_wire_closed_reads_as_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aclose() came after aiohttp had read a reply's head, before the wire handed the
    reply over: reading its body raised aiohttp's own RuntimeError ('Connection
    closed.'), which the transport passes on as it is; it is a closed connection's."""
    import anyio

    partial = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + AGENTS_BODY[:10]
    head_in, go_on = anyio.Event(), anyio.Event()
    request = aiohttp.ClientSession.request

    async def held(session: Any, *args: Any, **kwargs: Any) -> Any:
        response = await request(session, *args, **kwargs)
        head_in.set()
        await go_on.wait()
        return response

    monkeypatch.setattr(aiohttp.ClientSession, "request", held)
    wire = _aiohttp_wire.AiohttpWire(limits=httpx.Limits(), tls=no_tls_context())
    got: list[httpx.Response] = []

    async def send(url: str) -> None:
        got.append(await wire.handle_async_request(httpx.Request("GET", f"{url}x.php")))

    async def stalls(request: Request, peer: Peer) -> None:
        await peer.send(partial)

    with serve(stalls) as server, anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(send, server.base_url)
            await head_in.wait()
            await wire.aclose()
            go_on.set()
        (response,) = got
        with pytest.raises(httpx.ReadError):
            await response.aread()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # aiohttp runs on asyncio only
async def test_aiohttp_a_reply_being_read_when_the_wire_closes_reads_as_closed() -> None:
    """aclose() came while a reply's body was still coming: reading it raised aiohttp's
    own RuntimeError ('Connection closed.'), and a reader already waiting waited for the
    rest until its timeout (closing aiohttp's session wakes no reader of a body)."""
    import anyio

    partial = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + AGENTS_BODY[:10]

    async def stalls(request: Request, peer: Peer) -> None:
        await peer.send(partial)
        await peer.wait_for_client_to_leave()

    wire = _aiohttp_wire.AiohttpWire(limits=httpx.Limits(), tls=no_tls_context())
    with serve(stalls) as server, anyio.fail_after(10):
        url = f"{server.base_url}x.php"
        response = await wire.handle_async_request(httpx.Request("GET", url))
        await wire.aclose()
        with pytest.raises(httpx.ReadError):
            await response.aread()

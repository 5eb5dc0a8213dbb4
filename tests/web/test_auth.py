"""Auth, CORS and what the page carries: 401 for a missing, wrong or expired token,
comparisons in constant time, no cross-origin access unless listed, no secret on the page."""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable

import anyio
import httpx
import pytest

from contactnow_async.web import Wallboard
from contactnow_async.web import _auth as auth

from ._sse import client_for, open_events
from ._support import HandSource

pytestmark = pytest.mark.anyio

TOKEN = "wallboard-T0ken-for-tests"


def guarded(**options: object) -> Wallboard:
    return Wallboard(HandSource(), auth_token=TOKEN, **options)  # type: ignore[arg-type]  # a Source


async def test_missing_wrong_or_expired_tokens_get_401() -> None:
    wallboard = guarded()
    expired = auth.Guard(TOKEN, stream_ttl=-1).mint()
    assert expired is not None
    forged = auth.Guard("another-token", stream_ttl=600).mint()
    assert forged is not None
    async with wallboard.lifespan(), client_for(wallboard) as http:
        for path in ("/snapshot", "/events", "/stream-token", "/kpis"):
            for headers, params in (
                ({}, {}),
                ({"authorization": "Bearer wrong"}, {}),
                ({"authorization": f"Basic {TOKEN}"}, {}),
                ({}, {"access_token": TOKEN[:-1]}),
                ({}, {"access_token": expired[0]}),  # a stream token past its expiry
                ({}, {"access_token": forged[0]}),  # minted with another secret
                ({}, {"access_token": expired[0].replace("s1.", "s1.9")}),  # expiry edited
            ):
                reply = await http.get(path, headers=headers, params=params)
                assert reply.status_code == 401, (path, headers, params)
                assert reply.headers["www-authenticate"] == "Bearer"
                assert TOKEN not in reply.text


async def test_the_token_in_a_header_or_the_query_or_a_stream_token_lets_in() -> None:
    wallboard = guarded()
    async with wallboard.lifespan(), client_for(wallboard) as http:
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert (await http.get("/snapshot", headers=bearer)).status_code == 200
        assert (await http.get("/snapshot", params={"access_token": TOKEN})).status_code == 200
        grant = (await http.get("/stream-token", headers=bearer)).json()
        assert grant["access_token"].startswith("s1.")
        assert TOKEN not in grant["access_token"]
        assert 0 < grant["expires_in"] <= wallboard.guard.stream_ttl  # no browser clock needed
        async with open_events(wallboard, query={"access_token": grant["access_token"]}) as stream:
            assert stream.status == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
        assert (await http.get("/")).status_code == 200  # the page itself holds no data


async def test_a_path_with_a_trailing_slash_is_not_redirected_with_the_token() -> None:
    # Starlette redirected /events/?access_token=... to /events?access_token=...: the
    # token written into a Location header, for any proxy's log to keep.
    wallboard = guarded()
    async with wallboard.lifespan(), client_for(wallboard) as http:
        for path in ("/events/", "/snapshot/", "/kpis/", "/stream-token/", "/healthz/"):
            reply = await http.get(path, params={"access_token": TOKEN})
            assert reply.status_code == 404, path
            assert "location" not in reply.headers
            assert TOKEN not in reply.text


async def test_without_a_token_everything_is_open_and_no_stream_token_is_made() -> None:
    wallboard = Wallboard(HandSource())  # type: ignore[arg-type]  # a Source
    async with wallboard.lifespan(), client_for(wallboard) as http:
        assert (await http.get("/snapshot")).status_code == 200
        assert (await http.get("/stream-token")).json() == {
            "access_token": None,
            "expires_ts": None,
            "expires_in": None,
        }


def test_every_comparison_is_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real: Callable[[bytes, bytes], bool] = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the module _auth calls it through
    guard = auth.Guard(TOKEN)
    minted = guard.mint()
    assert minted is not None
    assert guard.check(TOKEN)
    assert not guard.check("x" * len(TOKEN))
    assert guard.check(minted[0])
    assert not guard.check(minted[0][:-1] + ("0" if minted[0][-1] != "0" else "1"))
    assert not guard.check("x")  # and a guess of another length
    assert len(calls) == 5  # each check, right or wrong, went through compare_digest
    assert all(type(a) is bytes and type(b) is bytes for a, b in calls)
    # Of one length, whatever was presented: compare_digest's time tells the lengths it
    # is given (it compared a guess with the token itself, so told the token's length).
    assert all(len(a) == len(b) for a, b in calls), [(len(a), len(b)) for a, b in calls]
    # And its answer is the answer: nothing else (an ==) decides.
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: False)
    assert not guard.check(TOKEN)
    assert not guard.check(minted[0])


def test_an_empty_token_is_refused_and_no_repr_shows_the_token() -> None:
    with pytest.raises(ValueError, match="empty"):
        Wallboard(HandSource(), auth_token=" ")  # type: ignore[arg-type]  # a Source
    wallboard = guarded()
    assert TOKEN not in repr(wallboard)
    assert TOKEN not in repr(wallboard.guard)


async def test_no_cors_unless_origins_are_listed() -> None:
    preflight = {
        "origin": "https://ops.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
    }
    closed = Wallboard(HandSource())  # type: ignore[arg-type]  # a Source
    async with closed.lifespan(), client_for(closed) as http:
        reply = await http.get("/snapshot", headers={"origin": "https://ops.example"})
        assert "access-control-allow-origin" not in reply.headers
        assert (await http.options("/snapshot", headers=preflight)).status_code == 405
    listed = guarded(cors_origins=["https://ops.example"])
    async with listed.lifespan(), client_for(listed) as http:
        reply = await http.options("/events", headers=preflight)
        assert reply.status_code == 200
        assert reply.headers["access-control-allow-origin"] == "https://ops.example"
        assert "authorization" in reply.headers["access-control-allow-headers"].lower()
        reply = await http.get(
            "/snapshot",
            headers={"origin": "https://ops.example", "authorization": f"Bearer {TOKEN}"},
        )
        assert reply.headers["access-control-allow-origin"] == "https://ops.example"
        other = await http.get("/snapshot", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_cors_origins_are_matched_as_browsers_write_them() -> None:
    # A browser's Origin is lower case, without its default port or a slash: listed
    # otherwise, an origin matched none, and CORS stayed shut without a word.
    listed = guarded(cors_origins=["HTTPS://Ops.Example:443", "http://wall.example:8080"])
    async with listed.lifespan(), client_for(listed) as http:
        for origin in ("https://ops.example", "http://wall.example:8080"):
            reply = await http.get("/healthz", headers={"origin": origin})
            assert reply.headers["access-control-allow-origin"] == origin
    for origins in (["https://ops.example/"], ["https://ops.example/board"], ["ops.example"]):
        with pytest.raises(ValueError, match=r"^cors_origins: '.*' is not an origin"):
            guarded(cors_origins=origins)
    with pytest.raises(TypeError, match="not one string"):  # list(str) is its characters
        guarded(cors_origins="https://ops.example")


@pytest.mark.parametrize(
    ("origin", "says"),
    [
        ("https://*.ops.example", "a pattern"),  # Starlette matches origins exactly
        ("https://wallboard.b\u00fccher.example", "xn--bcher-kva"),  # browsers send punycode
        ("https://ops.example:65536", "no port"),
        ("https://ops.example:0", "no port"),
    ],
)
def test_an_origin_no_browser_sends_is_refused_not_left_shut(origin: str, says: str) -> None:
    # Taken as written, each matched no browser's Origin: CORS stayed shut without a word.
    with pytest.raises(ValueError, match=r"^cors_origins: ") as refused:
        guarded(cors_origins=[origin])
    assert says in str(refused.value)


def test_an_origin_s_port_is_matched_as_a_number() -> None:
    # A browser writes its port without leading zeros (and no default port at all).
    assert auth.cors_allowed(["https://ops.example:0443", "http://ops.example:08080"]) == [
        "https://ops.example",
        "http://ops.example:8080",
    ]


async def test_the_page_carries_no_secret_and_runs_only_its_own_script() -> None:
    wallboard = guarded()
    async with wallboard.lifespan(), client_for(wallboard) as http:
        reply = await http.get("/", headers={"authorization": f"Bearer {TOKEN}"})
    page = reply.text
    assert reply.headers["content-type"].startswith("text/html")
    assert TOKEN not in page
    assert "password" not in page.replace('type="password"', "").replace(
        'autocomplete="current-password"', ""
    )
    policy = reply.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy
    assert reply.headers["referrer-policy"] == "no-referrer"
    assert "new EventSource(" in page and "textContent" in page and "innerHTML" not in page


async def test_a_stream_token_cannot_mint_another() -> None:
    # A stream token travels in a URL, where proxies and access logs keep it: one that
    # leaked must die at its expiry, not renew itself for ever.
    wallboard = guarded()
    async with wallboard.lifespan(), client_for(wallboard) as http:
        bearer = {"authorization": f"Bearer {TOKEN}"}
        grant = (await http.get("/stream-token", headers=bearer)).json()
        for headers, params in (
            ({}, {"access_token": grant["access_token"]}),
            ({"authorization": f"Bearer {grant['access_token']}"}, {}),
        ):
            reply = await http.get("/stream-token", headers=headers, params=params)
            assert reply.status_code == 401, (headers, params)
            assert "access_token" not in reply.json()
        async with open_events(wallboard, query={"access_token": grant["access_token"]}) as stream:
            assert stream.status == 200  # what it is for still works


async def test_a_stream_opened_with_a_stream_token_ends_at_its_expiry() -> None:
    # The token was checked only when the stream opened: one that leaked from a log,
    # opened a moment before its expiry, read every event for ever after. Ended, the page
    # reconnects with a new stream token and resumes from its last id.
    source = HandSource()
    wallboard = Wallboard(source, auth_token=TOKEN, heartbeat=0.02)  # type: ignore[arg-type]  # a Source; keep() passes every 5 ms
    guard = wallboard.guard
    minted = guard.mint()
    assert minted is not None
    token, expires_ts = minted
    # A second before its expiry: the stream's end is set on the real clock when it opens,
    # and the event must come through first (50 ms was too short on a loaded machine).
    guard.clock = lambda: expires_ts - 1.0
    async with wallboard.lifespan():
        async with (
            open_events(wallboard, query={"access_token": token}) as stream,
            open_events(wallboard, headers={"authorization": f"Bearer {TOKEN}"}) as held,
        ):
            event_id = source.publish("1", "call")
            assert [f.id for f in await stream.take(1)] == [event_id]
            with anyio.fail_after(5):
                assert await stream.next() is None  # ended, with no reset
            guard.clock = lambda: expires_ts + 3600
            await held.heartbeat()  # the token itself does not expire
            assert [f.id for f in await held.take(1)] == [event_id]


async def test_a_stream_token_s_stream_ends_at_its_expiry_without_heartbeats_too() -> None:
    # Board.keep() ends the streams of expired stream tokens in its passes, which came
    # every quarter of the heartbeat or the write timeout, whichever is shorter: with
    # neither wanted (both infinite), never, and a leaked stream token read for ever.
    source = HandSource()
    wallboard = Wallboard(source, auth_token=TOKEN, heartbeat=math.inf, write_timeout=math.inf)  # type: ignore[arg-type]  # a Source
    wallboard.board.longest_pass = 0.01  # passes this often at most: the test need not wait
    minted = wallboard.guard.mint()
    assert minted is not None
    token, expires_ts = minted
    wallboard.guard.clock = lambda: expires_ts - 0.05  # a moment before its expiry
    async with (
        wallboard.lifespan(),
        open_events(wallboard, query={"access_token": token}) as stream,
    ):
        assert stream.status == 200
        with anyio.fail_after(5):
            assert await stream.next() is None  # ended, with no reset


async def test_a_token_set_with_a_trailing_newline_still_lets_its_holder_in() -> None:
    # A secret read from a file or an env file often ends in a newline; what a request
    # presents is stripped, so the configured token is too, or nobody could ever match it.
    wallboard = Wallboard(HandSource(), auth_token=f" {TOKEN}\n")  # type: ignore[arg-type]  # a Source
    async with wallboard.lifespan(), client_for(wallboard) as http:
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert (await http.get("/snapshot", headers=bearer)).status_code == 200
        assert (await http.get("/snapshot", params={"access_token": TOKEN})).status_code == 200
        grant = (await http.get("/stream-token", headers=bearer)).json()
        assert wallboard.guard.check(grant["access_token"])
        assert (await http.get("/snapshot")).status_code == 401


@pytest.mark.parametrize("secret", ["Geheimnis-für-alle", "密码-wallboard-token", "token-voilà"])
async def test_a_token_beyond_ascii_lets_in_whatever_bytes_its_client_sends(secret: str) -> None:
    # Servers read header bytes as Latin-1: a client sending the token in UTF-8 (curl, any
    # HTTP library) was refused, and one beyond Latin-1 worked only in the query string.
    wallboard = Wallboard(HandSource(), auth_token=secret)  # type: ignore[arg-type]  # a Source
    sent = [secret.encode("utf-8")]
    if max(secret) <= "\xff":
        sent.append(secret.encode("latin-1"))  # what a browser sends for such a token
    async with wallboard.lifespan(), client_for(wallboard) as http:
        for token in sent:
            for wrong in (False, True):
                header = b"Bearer " + token + (b"x" if wrong else b"")
                reply = await http.get("/snapshot", headers=[(b"authorization", header)])
                assert reply.status_code == (401 if wrong else 200), (token, wrong)
        assert (await http.get("/snapshot", params={"access_token": secret})).status_code == 200


async def test_every_response_is_nosniff_and_no_store() -> None:
    # The event stream, its HEAD and its refusals too: /events answered without nosniff.
    wallboard = guarded()
    bearer = {"authorization": f"Bearer {TOKEN}"}
    async with wallboard.lifespan(), client_for(wallboard) as http:
        replies = [await http.get(path) for path in ("/", "/snapshot", "/events", "/healthz")]
        replies += [await http.get(path, headers=bearer) for path in ("/snapshot", "/kpis")]
        headers = [dict(reply.headers) for reply in replies]
        for method in ("GET", "HEAD"):
            async with open_events(wallboard, headers=bearer, method=method) as stream:
                assert stream.status == 200
                headers.append(dict(stream.headers))
    for each in headers:
        assert each["x-content-type-options"] == "nosniff", each
        assert each["cache-control"] == "no-store", each


class _Crashing(HandSource):
    """A source whose ``health()`` raises: ``/healthz`` is Starlette's own 500."""

    def health(self) -> tuple[bool, dict[str, object]]:
        raise RuntimeError("a bug in the source")


async def test_starlettes_own_replies_are_nosniff_and_no_store_too() -> None:
    # Only the endpoints' replies carried the headers: an unknown path (404), a wrong
    # method (405), a CORS preflight and a crash (500) are Starlette's own replies.
    origin = "https://board.example"
    wallboard = Wallboard(_Crashing(), auth_token=TOKEN, cors_origins=[origin])  # type: ignore[arg-type]  # a Source
    transport = httpx.ASGITransport(app=wallboard, raise_app_exceptions=False)
    bearer = {"authorization": f"Bearer {TOKEN}"}
    preflight = {"origin": origin, "access-control-request-method": "GET"}
    async with (
        wallboard.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://wallboard.test") as http,
    ):
        replies = [
            await http.get("/no-such-page", headers=bearer),
            await http.head("/no-such-page"),
            await http.post("/snapshot", headers=bearer),
            await http.delete("/"),
            await http.options("/snapshot", headers=preflight),
            await http.get("/healthz"),
        ]
    assert [reply.status_code for reply in replies] == [404, 404, 405, 405, 200, 500]
    for reply in replies:
        assert reply.headers["x-content-type-options"] == "nosniff", reply
        assert reply.headers["cache-control"] == "no-store", reply
        assert len(reply.headers.get_list("x-content-type-options")) == 1, reply


@pytest.mark.parametrize("ttl", [float("inf"), float("nan"), 0.0, -5.0, 0.5, 1e13])
def test_a_stream_token_ttl_that_cannot_work_is_refused(ttl: float) -> None:
    # Accepted, infinity or NaN made every /stream-token a 500; 0 or less, or under a
    # second (expiries are whole seconds), minted tokens already expired; 1e13 minted
    # tokens no check reads: the page could never open its stream, and kept trying.
    with pytest.raises(ValueError, match="stream_token_ttl"):
        guarded(stream_token_ttl=ttl)

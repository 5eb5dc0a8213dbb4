"""A password echoed back in an error reply, in any form a server writes it, is hidden."""

from __future__ import annotations

import secrets

import anyio
import httpx
import pytest

from contactnow_async import (
    AgentInput,
    APIError,
    ContactNowError,
    HTTPStatusError,
    ResponseFormatError,
    TransportError,
)
from tests._helpers import client_for, exception_texts, json_reply, script_of
from tests.hostile._server import PASSWORD, Behaviour, Peer, Request, client, serve

pytestmark = pytest.mark.anyio

GUARD = 10

# (password, the form a server echoes it in), the forms written out by hand.
ECHOES = {
    "percent-encoded": ("pä/ss", "p%C3%A4%2Fss"),
    "percent-encoded-lower-case": ("pä/ss", "p%c3%a4%2fss"),
    "plus-encoded": ("pä ss/1", "p%C3%A4+ss%2F1"),
    "plus-encoded-by-php": ("pä ss~1", "p%C3%A4+ss%7E1"),  # urlencode writes ~ as %7E
    "html-escaped": ("p<ä>&\"'ss", "p&lt;ä&gt;&amp;&quot;&#x27;ss"),
    "html-escaped-by-php": ("p<ä>&\"'ss", "p&lt;ä&gt;&amp;&quot;&#039;ss"),  # htmlspecialchars
    "html-entities-by-php": ("p<ä>&\"'ss", "p&lt;&auml;&gt;&amp;&quot;&#039;ss"),  # htmlentities
    "json-escaped": ('pä/ss"q', 'p\\u00e4/ss\\"q'),
    "json-escaped-by-php": ('pä/ss"q', 'p\\u00e4\\/ss\\"q'),  # json_encode escapes "/" too
    # A PHP stack trace quotes a string argument's first 15 bytes, then "...", each byte
    # past ASCII (and a backslash, a control character) escaped.
    "cut-by-a-php-stack-trace": ("pä/ss-is-long-enough", "p\\xC3\\xA4/ss-is-long-..."),
    "escaped-by-a-php-stack-trace": ("pä\\ss\n", "p\\xC3\\xA4\\\\ss\\n"),
    # That trace inside a JSON reply (json_encode: each backslash doubled, "/" as "\/").
    "php-stack-trace-in-json": ("pä/ss-is-long-enough", "p\\\\xC3\\\\xA4\\/ss-is-long-..."),
}


def texts_of(error: BaseException) -> str:
    """Everything an error could show, as one text (:func:`exception_texts`)."""
    return "\n".join(exception_texts(error))


@pytest.mark.parametrize("channel", ["error-field", "error-page"])
@pytest.mark.parametrize(("password", "echoed"), ECHOES.values(), ids=list(ECHOES))
async def test_an_echoed_password_never_reaches_the_exception(
    password: str, echoed: str, channel: str
) -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if script_of(request) == "token":
            return json_reply({"success": True, "token": secrets.token_hex(20), "expire": 2e9})
        if channel == "error-field":  # the echo inside the envelope's error text
            return json_reply({"success": False, "error": f"Login {echoed} refused"})
        return httpx.Response(400, content=f"Login {echoed} refused".encode())

    expected: type[ContactNowError] = APIError if channel == "error-field" else ResponseFormatError
    cn, http = client_for(api, password=password, max_retries=0)
    async with http, cn:
        with pytest.raises(expected) as info:
            await cn.agents.read()
    shown = texts_of(info.value)
    assert "Login <redacted> refused" in shown  # not vacuous: the echo was there, hidden
    assert echoed not in shown
    assert password not in shown


def echoing(head: str) -> Behaviour:
    """A reply head that echoes the password and the token (``{password}``, ``{token}``)."""

    async def behaviour(request: Request, peer: Peer) -> None:
        text = head.format(password=PASSWORD, token=request.params["token"])
        await peer.send(text.encode("latin-1"))

    return behaviour


async def test_a_status_text_that_echoes_a_secret_is_hidden() -> None:
    """The reason phrase of a 5xx went into HTTPStatusError's message as the server wrote it."""
    head = "HTTP/1.1 500 Login {password} refused for {token}\r\nContent-Length: 0\r\n\r\n"
    with serve(echoing(head)) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=0) as cn:
            with pytest.raises(HTTPStatusError) as info:
                await cn.agents.read()
    shown = texts_of(info.value)
    assert "(Login <redacted> refused for <redacted>)" in shown  # not vacuous
    (token,) = server.tokens
    assert PASSWORD not in shown
    assert token not in shown


@pytest.mark.parametrize(
    "head",
    [
        "HTTP/1.1 5x0 Login {password} refused for {token}\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Echo {password} {token}\r\nContent-Length: 0\r\n\r\n",
        "Login {password} refused for {token}\r\n\r\n",
    ],
    ids=["status-line", "header-line", "not-http"],
)
async def test_a_malformed_head_that_echoes_a_secret_is_hidden(head: str) -> None:
    """httpx (h11) and aiohttp quote the line they could not parse in their error: it
    reached TransportError's message, and, on httpx, the exceptions chained to it."""
    with serve(echoing(head)) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=0) as cn:
            with pytest.raises(TransportError, match="after the request was sent") as info:
                await cn.agents.read()
    shown = texts_of(info.value)
    (token,) = server.tokens
    assert "<redacted>" in shown  # not vacuous: the echo was there, hidden
    assert PASSWORD not in shown
    assert token not in shown


@pytest.mark.parametrize(
    "body",
    [
        '{{"success": "Login {password} refused for {token}"}}',
        '{{"success": true, "total": "Login {password} refused for {token}"}}',
        "<result><success>1</success><bad>{password} {token}</bad></result>",
    ],
    ids=["success", "total", "xml-bad"],
)
async def test_an_envelope_field_of_the_wrong_shape_that_echoes_a_secret_is_hidden(
    body: str,
) -> None:
    """The snippet of a ResponseFormatError was redacted, but not its reason, which
    quoted the value it could not read (``success is '...', not a boolean``)."""
    token = f"tok-{secrets.token_urlsafe(12)}-Zq"  # no hex pattern catches it

    def api(request: httpx.Request) -> httpx.Response:
        if script_of(request) == "token":
            return json_reply({"success": True, "token": token, "expire": 2e9})
        return httpx.Response(200, content=body.format(password=PASSWORD, token=token).encode())

    cn, http = client_for(api, password=PASSWORD, max_retries=0)
    async with http, cn:
        with pytest.raises(ResponseFormatError) as info:
            await cn.agents.read()
    shown = texts_of(info.value)
    assert "wrong shape" in shown  # not vacuous: the field's value was read, and hidden
    assert PASSWORD not in shown
    assert token not in shown


async def test_a_redirect_whose_location_path_echoes_a_secret_is_hidden() -> None:
    """A Location was shown without its query, but its path as the server wrote it."""
    head = (
        "HTTP/1.1 302 Found\r\nLocation: /login/{password}/{token}/\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    with serve(echoing(head)) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=0) as cn:
            with pytest.raises(HTTPStatusError) as info:
                await cn.agents.read()
    shown = texts_of(info.value)
    (token,) = server.tokens
    assert "to /login/<redacted>/<redacted>/;" in shown  # not vacuous
    assert PASSWORD not in shown
    assert token not in shown


@pytest.mark.parametrize("header", ["Content-Type", "Content-Encoding"])
async def test_a_content_header_that_echoes_a_secret_is_hidden(header: str) -> None:
    """A ResponseFormatError named the reply's content type, and an unsupported content
    encoding, as the server wrote them (the encoding in lower case)."""
    head = (
        f"HTTP/1.1 200 OK\r\n{header}: x-{{password}}-{{token}}\r\n"
        "Content-Length: 4\r\nConnection: close\r\n\r\noops"
    )
    with serve(echoing(head)) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=0) as cn:
            with pytest.raises(ResponseFormatError) as info:
                await cn.agents.read()
    shown = texts_of(info.value)
    (token,) = server.tokens
    assert "x-<redacted>-<redacted>" in shown  # not vacuous
    assert PASSWORD.lower() not in shown.lower()
    assert token not in shown


#: An agent's password a write sends: not ASCII, and with both kinds of quote.
AGENT_SECRET = "Pässwort-'q\"-77"


def forms_shown(secret: str) -> list[str]:
    """The forms of ``secret`` a log line or an error may show: as it is; as httpx reads a
    status text (ASCII only: the rest dropped); as httpcore logs bytes (their repr)."""
    raw = secret.encode()
    return [
        secret,
        raw.decode("ascii", "ignore"),
        repr(raw)[2:-1],
        repr(raw + b'"')[2:-2],  # as inside a repr that escapes "'"
    ]


async def test_a_non_ascii_secret_echoed_in_a_status_text_and_a_header_is_hidden(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    """httpx reads a status text as ASCII, dropping the rest, and httpcore logs a reply's
    head as bytes: neither form of a secret with an "ä" was the secret, so both showed."""
    head = f"HTTP/1.1 500 Agent {AGENT_SECRET} refused\r\nX-Echo: {AGENT_SECRET}\r\n"

    async def behaviour(request: Request, peer: Peer) -> None:
        await peer.send(f"{head}Content-Length: 0\r\nConnection: close\r\n\r\n".encode())

    with serve(behaviour) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=0) as cn:
            with pytest.raises(HTTPStatusError) as info:
                await cn.agents.create([AgentInput(name="A", password=AGENT_SECRET)])
    shown = texts_of(info.value)
    assert "Agent <redacted> refused" in shown  # not vacuous: the echo was there, hidden
    for text in (shown, debug_logs.text):
        leaks = [form for form in forms_shown(AGENT_SECRET) if form in text]
        assert not leaks, (leaks, text[-2000:])

"""Redirects and statuses without an envelope: raised once, and no secret in any log line."""

from __future__ import annotations

import anyio
import httpx
import pytest

from contactnow_async import ContactNowError, HTTPStatusError, ResponseFormatError
from tests.hostile._server import PASSWORD, Peer, Request, answering, client, reply, serve

pytestmark = pytest.mark.anyio

GUARD = 10
ECHOED_PASSWORD = "s3cret-Echoed-pw"
ECHOED_TOKEN = "abc-Echoed-token"
AGENTS = b'{"success":true,"total":1,"list":[{"agentid":"1","name":"Joe"}]}'


async def redirect_to_secrets(request: Request, peer: Peer) -> None:
    where = f"http://{request.headers['host']}/x?password={ECHOED_PASSWORD}&token={ECHOED_TOKEN}"
    await peer.send(reply(302, headers=[("Location", where)], content_type=None))


async def test_a_redirect_is_raised_once_and_its_query_never_shown(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    with serve(redirect_to_secrets) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=2) as cn:
            with pytest.raises(HTTPStatusError) as info:
                await cn.agents.read()
    error = info.value
    assert error.status_code == 302
    assert f"redirect (HTTP 302) to {server.base_url}x;" in str(error)
    assert (len(server.token_requests), len(server.data_requests)) == (1, 1)
    secrets = [ECHOED_PASSWORD, ECHOED_TOKEN, PASSWORD, *server.tokens]
    texts = [str(error), repr(error), debug_logs.text]
    texts += [record.getMessage() for record in debug_logs.records]
    assert not [(secret, text) for secret in secrets for text in texts if secret in text]
    # Not vacuous: httpcore did log the reply's headers, Location included.
    assert any("Location" in record.getMessage() for record in debug_logs.records)


@pytest.mark.parametrize(
    ("status", "headers", "body", "error", "message"),
    [
        (301, [("Location", "/elsewhere")], b"", HTTPStatusError, r"redirect \(HTTP 301\) to /"),
        (307, [], b"", HTTPStatusError, r"HTTP 307\) to nowhere \(no Location\)"),
        (204, [], b"", ResponseFormatError, r"HTTP 204 .* an empty body"),
        (418, [], b"I'm a teapot", ResponseFormatError, r"HTTP 418 .* neither JSON nor XML"),
        (404, [], b"<html>gone</html>", ResponseFormatError, r"HTTP 404 .* an HTML page"),
    ],
    ids=["301", "307-no-location", "204", "418", "404-html"],
)
async def test_a_status_without_an_envelope_is_raised_once(
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    error: type[ContactNowError],
    message: str,
) -> None:
    behaviour = answering(body, status=status, headers=headers, content_type="text/plain")
    with serve(behaviour) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=2) as cn:
            with pytest.raises(error, match=message):
                await cn.agents.read()
    assert len(server.data_requests) == 1


@pytest.mark.parametrize(
    ("lie_on", "paths"),
    [
        pytest.param(
            "redirect",
            ["/database.php"],
            # httpx reads the redirect's body inside send() and, on its DecodingError,
            # leaves its own stream generators to the collector (encode/httpx#3686).
            marks=pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning"),
        ),
        pytest.param("target", ["/database.php", "/final"]),
    ],
)
async def test_a_followed_redirect_to_a_lying_encoding_is_a_format_error(
    lie_on: str, paths: list[str]
) -> None:
    """A caller's own client may follow redirects: a lying body on either hop is typed."""
    plain_labelled_gzip = [("Content-Encoding", "gzip")]

    async def behaviour(request: Request, peer: Peer) -> None:
        if request.path == "/final":
            headers = plain_labelled_gzip if lie_on == "target" else []
            await peer.send(reply(200, AGENTS, headers=headers))
        else:
            headers = [("Location", "/final")]
            if lie_on == "redirect":
                headers += plain_labelled_gzip
            await peer.send(reply(302, b"not gzip at all", headers=headers))

    with serve(behaviour) as server, anyio.fail_after(GUARD):
        async with (
            httpx.AsyncClient(follow_redirects=True, timeout=5) as http,
            client(server, http_client=http, max_retries=0) as cn,
        ):
            with pytest.raises(ResponseFormatError, match="decode") as info:
                await cn.agents.read()
    assert type(info.value) is ResponseFormatError
    assert [request.path for request in server.data_requests] == paths

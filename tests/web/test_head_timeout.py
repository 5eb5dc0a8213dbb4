"""``contactnow serve``'s HTTP protocol: a connection whose request head is late is closed;
a request under way (an event stream) is not timed. uvicorn on 127.0.0.1, raw sockets."""

from __future__ import annotations

import socket
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from contactnow_async._cli import _head_timeout
from contactnow_async._cli._head_timeout import HeadTimeoutProtocol

from ._served import served_in_thread

pytestmark = pytest.mark.integration

#: The head's time limit here: a fifth of a second, not ten.
LIMIT = 0.2


async def streaming(scope: Any, receive: Any, send: Any) -> None:
    """An app whose one reply is five chunks 0.1 s apart (past the head's limit)."""
    import anyio

    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for index in range(5):
        await send({"type": "http.response.body", "body": b"%d" % index, "more_body": True})
        await anyio.sleep(0.1)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


@pytest.fixture
def address(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    monkeypatch.setattr(_head_timeout, "REQUEST_HEAD_TIMEOUT", LIMIT)
    with served_in_thread(streaming, http=HeadTimeoutProtocol) as url:
        parts = urllib.parse.urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port


def closed_after(connection: socket.socket) -> float:
    """Seconds until the server closes ``connection`` (reading whatever it sends first);
    a socket.timeout (the test's failure) after 5 s of nothing."""
    started = time.monotonic()
    connection.settimeout(5)
    while connection.recv(4096):
        pass
    return time.monotonic() - started


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"],  # nothing; a head that never ends
    ids=["nothing", "half a head"],
)
def test_a_connection_whose_head_is_late_is_closed(address: tuple[str, int], sent: bytes) -> None:
    # uvicorn kept either open for as long as the client stayed.
    with socket.create_connection(address) as connection:
        connection.sendall(sent)
        assert closed_after(connection) < 5


def test_a_reply_longer_than_the_limit_and_the_next_request_are_served(
    address: tuple[str, int],
) -> None:
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(address) as connection:
        connection.settimeout(5)
        connection.sendall(request)
        body = b""
        while b"0\r\n\r\n" not in body:  # the chunked reply's end, 0.5 s on
            body += connection.recv(4096)
        assert b"200 OK" in body and all(b"1\r\n%d\r\n" % i in body for i in range(5))
        connection.sendall(request)  # the same connection: its next head is awaited again
        again = connection.recv(4096)
        assert again.startswith(b"HTTP/1.1 200 OK")

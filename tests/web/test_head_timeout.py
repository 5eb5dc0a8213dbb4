"""``contactnow serve``'s HTTP protocol: a connection whose request head is late is closed;
a request under way (an event stream) is not timed. uvicorn on 127.0.0.1, raw sockets, and
the protocol alone, its timers fired by the test."""

from __future__ import annotations

import socket
import time
import urllib.parse
from collections.abc import Callable, Coroutine, Generator, Iterator
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from contactnow_async._cli import _head_timeout
from contactnow_async._cli._head_timeout import REQUEST_HEAD_TIMEOUT, HeadTimeoutProtocol

from ._served import served_in_thread

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


@pytest.mark.integration
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


class Timers:
    """The loop the protocol is given: its timers fire when the test moves time on
    (:meth:`advance`), its tasks (the app's) run when the test says (:meth:`run_tasks`)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pending: list[Timer] = []
        self.tasks: list[tuple[Coroutine[Any, Any, None], list[Callable[[Any], None]]]] = []

    def call_later(self, delay: float, callback: Callable[..., None], *args: Any) -> Timer:
        timer = Timer(self.now + delay, lambda: callback(*args))
        self.pending.append(timer)
        return timer

    def create_task(self, coroutine: Coroutine[Any, Any, None]) -> Task:
        task = Task()
        self.tasks.append((coroutine, task.callbacks))
        return task

    def run_tasks(self) -> None:
        """Run each task until it ends or waits for :class:`Pause`."""
        running, self.tasks = self.tasks, []
        for coroutine, callbacks in running:
            try:
                coroutine.send(None)
            except StopIteration:
                for callback in callbacks:
                    callback(coroutine)
            else:
                self.tasks.append((coroutine, callbacks))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for timer in [timer for timer in self.pending if timer.when <= self.now]:
            self.pending.remove(timer)
            if not timer.cancelled:
                timer.callback()


class Timer:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Task:
    def __init__(self) -> None:
        self.callbacks: list[Callable[[Any], None]] = []

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        self.callbacks.append(callback)


class Transport:
    """A connection's transport: what was written, and whether it was closed."""

    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Pause:
    """Awaited by an app: its task waits until the test runs the tasks again."""

    def __await__(self) -> Generator[None, None, None]:
        yield


def connected(app: Any) -> tuple[Timers, HeadTimeoutProtocol, Transport]:
    """The protocol serving ``app`` on a connection just made; uvicorn's keep-alive timeout
    (after a reply, until a byte comes) a minute, past the head's time limit."""
    timers = Timers()
    config = uvicorn.Config(app, log_config=None, lifespan="off", timeout_keep_alive=60)
    loop: Any = timers  # the loop's call_later and create_task, and no more
    protocol = HeadTimeoutProtocol(config, ServerState(), {}, _loop=loop)
    transport = Transport()
    protocol.connection_made(transport)
    return timers, protocol, transport


async def replying_slowly(scope: Any, receive: Any, send: Any) -> None:
    """An app whose reply ends only when the test runs the tasks a second time."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"first", "more_body": True})
    await Pause()
    await send({"type": "http.response.body", "body": b"last", "more_body": False})


def test_a_reply_longer_than_the_limit_and_the_next_request_are_served() -> None:
    # The head's time is not the request's: a reply under way (an event stream) runs on.
    timers, protocol, transport = connected(replying_slowly)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    timers.run_tasks()
    timers.advance(REQUEST_HEAD_TIMEOUT * 2)
    timers.run_tasks()
    assert transport.written.endswith(b"4\r\nlast\r\n0\r\n\r\n") and not transport.closed
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")  # the same connection
    timers.run_tasks()
    timers.run_tasks()
    assert transport.written.count(b"HTTP/1.1 200 OK\r\n") == 2 and not transport.closed
    # The next head is awaited again, from the last reply.
    timers.advance(REQUEST_HEAD_TIMEOUT - 0.1)
    assert not transport.closed
    timers.advance(0.1)
    assert transport.closed


async def refusing(scope: Any, receive: Any, send: Any) -> None:
    """An app that answers 405 without reading the request's body."""
    await send({"type": "http.response.start", "status": 405, "headers": []})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def test_a_head_awaited_after_a_body_that_ended_after_its_reply_is_timed() -> None:
    # The reply went before the body was all in, and the body's rest came in two pieces:
    # the first stopped the head's timer (a request under way), and none started when the
    # body ended, so the connection waited for its next head for ever.
    timers, protocol, transport = connected(refusing)
    protocol.data_received(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nx")
    timers.run_tasks()
    assert transport.written.startswith(b"HTTP/1.1 405 ") and not transport.closed
    protocol.data_received(b"y")
    protocol.data_received(b"z")  # the body is whole: the next head is awaited
    timers.advance(REQUEST_HEAD_TIMEOUT - 0.1)
    assert not transport.closed
    timers.advance(0.1)
    assert transport.closed

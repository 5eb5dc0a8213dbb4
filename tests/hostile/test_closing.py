"""A call still running when its client is closed: it stops, and opens nothing more."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_thread
import pytest
from httpcore._backends.auto import AutoBackend

from contactnow_async import ContactNow, Token
from tests.hostile._server import WIRE, Peer, Request, answering, client, reply, serve

CLOSED = "this ContactNow client is closed; create a new one"
AGENTS = b'{"success":true,"total":1,"list":[{"agentid":"1","name":"Joe"}]}'

pytestmark = pytest.mark.anyio

GUARD = 10


async def closed_during(
    cn: ContactNow,
    call: Callable[[], Awaitable[object]],
    reached: anyio.Event,
    then: anyio.Event | None = None,
) -> BaseException:
    """What ``call`` raises when ``cn`` is closed once it has ``reached`` a point (and
    ``then`` is set after the close, to let the call go on)."""
    outcome: list[BaseException] = []

    async def run() -> None:
        try:
            await call()
        except Exception as exc:  # what the call ends with is the subject
            outcome.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await reached.wait()
        await cn.aclose()
        if then is not None:
            then.set()
    (error,) = outcome
    return error


class HeldClock:
    """Real time, but a retry's backoff waits until the test lets it go."""

    def __init__(self) -> None:
        self.sleeping = anyio.Event()
        self.woken = anyio.Event()

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, deadline: float) -> None:
        self.sleeping.set()
        await self.woken.wait()


@pytest.mark.parametrize("woken", [True, False], ids=["backoff-ends", "backoff-goes-on"])
async def test_a_call_backing_off_when_the_client_closes_sends_no_retry(woken: bool) -> None:
    """The first attempt fails (503); the client is closed during the backoff: the
    retry is not sent (on a closed pool it opened a connection nothing closed, or
    raised aiohttp's own RuntimeError) and the call says the client is closed, at once:
    it slept out its backoff first (a Retry-After of a minute, say), unless woken."""
    answered = threading.Event()  # set in the server's thread

    async def unavailable(request: Request, peer: Peer) -> None:
        await peer.send(reply(503, content_type=None))
        answered.set()

    clock = HeldClock()
    with serve(unavailable) as server, anyio.fail_after(GUARD):
        async with client(server, max_retries=2, clock=clock) as cn:
            await cn.tokens.get()
            woke = clock.woken if woken else None
            error = await closed_during(cn, cn.agents.read, clock.sleeping, woke)
    assert type(error) is RuntimeError
    assert str(error) == CLOSED
    assert answered.is_set()
    assert len(server.data_requests) == 1


class HeldStore:
    """A token store whose first load waits until the test lets it go."""

    def __init__(self) -> None:
        self.loading = anyio.Event()
        self.loaded = anyio.Event()

    async def load(self, key: str) -> Token | None:
        self.loading.set()
        await self.loaded.wait()
        return Token("f" * 40, int(time.time()) + 3600)

    async def save(self, key: str, token: Token) -> None:
        pass

    async def delete(self, key: str, token: Token) -> None:
        pass


async def test_a_call_waiting_for_its_token_when_the_client_closes_opens_nothing() -> None:
    """The client's own pool is made at the first request: one whose token came
    after aclose() made a pool (an aiohttp session) that nothing would close."""
    store = HeldStore()
    with serve(answering(AGENTS)) as server, anyio.fail_after(GUARD):
        async with client(server, token_store=store) as cn:
            error = await closed_during(cn, cn.agents.read, store.loading, store.loaded)
            made = cn._transport._pool  # whether a pool was made is the subject
    assert type(error) is RuntimeError
    assert str(error) == CLOSED
    assert server.requests == []
    if WIRE["transport"] != "given":
        assert made is None


async def test_a_download_under_way_when_the_client_closes_ends_at_once() -> None:
    """Part of the file came, and the rest never does: closing the client ends the
    download with the closed client's error. On the aiohttp wire it waited for the
    rest until its timeout (for ever without one): closing the session left a reply
    being read waiting; on the caller's own http_client (not closed) it went on."""
    audio = b"RIFF" + bytes(4000)

    async def stalls(request: Request, peer: Peer) -> None:
        await peer.send(reply(200, audio, content_type="audio/wav")[:-3000])
        await peer.wait_for_client_to_leave()

    under_way = anyio.Event()
    with serve(stalls) as server, anyio.fail_after(GUARD):
        async with client(server, timeout=GUARD * 6) as cn:

            async def download() -> None:
                await cn.recordings.download(7, io.BytesIO(), progress=lambda *_: under_way.set())

            error = await closed_during(cn, download, under_way)
    assert type(error) is RuntimeError
    assert str(error) == CLOSED


async def test_a_call_connecting_when_the_client_closes_sends_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The call was making its connection when the client closed: it sends nothing and
    says the client is closed. It sent its request once connected (httpcore's closed pool
    forgets a connection being made), got its reply, and left that socket to the
    garbage collector."""
    if WIRE["transport"] == "aiohttp":
        pytest.skip("the connection held here is httpcore's")
    connecting, connect_now = anyio.Event(), anyio.Event()
    connect = AutoBackend.connect_tcp

    async def held(self: AutoBackend, *args: Any, **kwargs: Any) -> Any:
        connecting.set()
        await connect_now.wait()
        return await connect(self, *args, **kwargs)

    with serve(answering(AGENTS)) as server, anyio.fail_after(GUARD):
        async with client(server) as cn:
            await cn.tokens.get()  # its connection closes with its reply (Connection: close)
            monkeypatch.setattr(AutoBackend, "connect_tcp", held)
            error = await closed_during(cn, cn.agents.read, connecting, connect_now)
    assert type(error) is RuntimeError
    assert str(error) == CLOSED
    assert server.data_requests == []

"""A reply that never ends: bounded by ``timeout`` per attempt and ``deadline`` per call."""

from __future__ import annotations

import io
import threading

import anyio
import anyio.to_thread
import pytest

from contactnow_async import RequestTimeout, ResponseFormatError
from tests.hostile._server import Peer, Request, client, reply, serve

pytestmark = pytest.mark.anyio

#: Every test ends within this, whatever the client does: a hang fails, it does not block.
GUARD = 10


async def slow_drip(request: Request, peer: Peer) -> None:
    """Headers, then one body byte every 0.3 s, for as long as the client listens."""
    await peer.send(reply(200, headers=[("Content-Length", "100000")]))
    await peer.drip(b" " * 100_000, every=0.3)


async def test_a_slow_drip_ends_at_the_attempt_timeout() -> None:
    with serve(slow_drip) as server, anyio.fail_after(GUARD):
        async with client(server, timeout=1, max_retries=0) as cn:
            # One attempt: its timeout and the call's bound derived from it are both 1 s,
            # and whichever ends it, the message names the timeout (no deadline was given).
            with pytest.raises(RequestTimeout, match=r"timeout=1s") as info:
                await cn.agents.read()
    assert info.value.sent is True
    assert len(server.data_requests) == 1


@pytest.mark.slow  # 3.5 s of waiting a run
async def test_a_slow_drip_with_retries_ends_at_the_call_deadline() -> None:
    # Attempt 1 ends at its 2 s timeout, attempt 2 at the call's deadline, 3.5 s (its own
    # timeout would end it at 4 s). Both bounds are real time here (a real socket, on
    # either backend's clock), so the margins are wide for a loaded machine: the token is
    # fetched before the call, not within its deadline; attempt 2 has 1.5 s to reach the
    # server (with 0.5 s and 0.9 s, a stall of 0.4 s left one attempt); the drip (a byte
    # every 0.3 s) stays well under the per-read timeout. Any deadline between the
    # timeout and twice it proves the same.
    with serve(slow_drip) as server, anyio.fail_after(GUARD):
        async with client(server, timeout=2, max_retries=5, deadline=3.5) as cn:
            await cn.tokens.get()
            with pytest.raises(RequestTimeout, match=r"deadline of 3\.5s"):
                await cn.agents.read()
    assert len(server.data_requests) == 2


async def test_a_declared_length_over_the_cap_is_refused_before_the_body() -> None:
    async def headers_then_nothing(request: Request, peer: Peer) -> None:
        await peer.send(reply(200, headers=[("Content-Length", "10000000")]))
        await peer.wait_for_client_to_leave()  # reading the body would hang: none comes

    with serve(headers_then_nothing) as server, anyio.fail_after(GUARD):
        async with client(server, max_response_bytes=1_000_000, max_retries=0) as cn:
            with pytest.raises(
                ResponseFormatError, match=r"max_response_bytes \(10000000 > 1000000\)"
            ):
                await cn.agents.read()
    assert len(server.data_requests) == 1


async def test_a_call_in_a_cancelled_scope_sends_nothing() -> None:
    """A free slot is taken without a pass of the event loop, but a call made where
    it is already cancelled still ends before its request is written."""

    async def agents(request: Request, peer: Peer) -> None:
        await peer.send(reply(200, b'{"success":true,"total":0,"list":[]}'))

    with serve(agents) as server, anyio.fail_after(GUARD):
        async with client(server) as cn:
            await cn.agents.read()  # the token is fetched and kept
            with anyio.CancelScope() as scope:
                scope.cancel()
                await cn.agents.create([{"name": "Ann", "username": "ann", "password": "x"}])
            assert scope.cancelled_caught
            await anyio.sleep(0.2)  # time for a request that was sent to arrive
    assert [request.params.get("action") for request in server.data_requests] == ["read"]


async def test_a_slot_comes_back_from_a_call_cancelled_with_it_or_waiting_for_it() -> None:
    """max_concurrency=1: the call holding the slot and the one waiting for it are
    both cancelled; the next call has the slot."""
    answered = 0
    first_sent = threading.Event()  # set in the server's thread

    async def first_hangs(request: Request, peer: Peer) -> None:
        nonlocal answered
        answered += 1
        if answered == 1:
            first_sent.set()
            await peer.wait_for_client_to_leave()
        else:
            await peer.send(reply(200, b'{"success":true,"total":0,"list":[]}'))

    with serve(first_hangs) as server, anyio.fail_after(GUARD):
        async with client(server, max_concurrency=1) as cn:
            async with anyio.create_task_group() as tg:
                tg.start_soon(cn.agents.read)  # holds the slot: no reply comes
                assert await anyio.to_thread.run_sync(first_sent.wait, GUARD)
                with anyio.move_on_after(0.2) as waiting:
                    await cn.agents.read()  # waits for the slot until cancelled
                assert waiting.cancelled_caught
                tg.cancel_scope.cancel()  # the call holding the slot
            with anyio.fail_after(GUARD):  # a slot kept by either would hang here
                assert await cn.agents.read() == []
    assert len(server.data_requests) == 2


@pytest.mark.parametrize("framing", ["chunked", "close-delimited"])
@pytest.mark.parametrize("call", ["read", "download"])
async def test_a_body_that_never_ends_is_cut_at_its_cap_as_it_streams(
    call: str, framing: str
) -> None:
    """No length to refuse before the body: the cap is counted as the body comes, on
    every wire (a body read whole before it was measured would never end)."""
    piece = b"RIFF".ljust(0x4000, b"\0")
    if framing == "chunked":
        piece = b"%x\r\n%s\r\n" % (len(piece), piece)
        headers = [("Transfer-Encoding", "chunked")]
    else:
        headers = []

    async def endless(request: Request, peer: Peer) -> None:
        head = reply(200, headers=headers, declare_length=False, content_type="audio/wav")
        if await peer.send(head):
            while await peer.send(piece):
                pass

    with serve(endless) as server, anyio.fail_after(GUARD):
        async with client(server, max_response_bytes=100_000, max_retries=2) as cn:
            with pytest.raises(ResponseFormatError, match=r"larger than max_\w+ \(\d+ > 100000\)"):
                await (
                    cn.agents.read()
                    if call == "read"
                    else cn.recordings.download(7, io.BytesIO(), max_bytes=100_000)
                )
    assert len(server.data_requests) == 1  # the same request would bring the same reply


async def test_a_download_that_stalls_midway_says_so_on_every_wire() -> None:
    """Part of the file, then nothing: every wire names the stall and the bytes that came
    (the [speed] wire's own read timeout, which runs from the piece's arrival, ends the
    wait a moment before the transport's bound: it once came out as a bare ReadTimeout)."""

    async def part_then_nothing(request: Request, peer: Peer) -> None:
        head = reply(200, headers=[("Content-Length", "100000")], content_type="audio/wav")
        if await peer.send(head + b"RIFF".ljust(1000, b"\0")):
            await peer.wait_for_client_to_leave()

    with serve(part_then_nothing) as server, anyio.fail_after(GUARD):
        async with client(server, timeout=0.5, max_retries=0) as cn:
            with pytest.raises(RequestTimeout) as info:
                await cn.recordings.download(7, io.BytesIO())
    assert type(info.value) is RequestTimeout
    assert "stalled: nothing more came for timeout=0.5s after 1,000 bytes" in str(info.value)
    assert info.value.sent is True
    assert len(server.data_requests) == 1

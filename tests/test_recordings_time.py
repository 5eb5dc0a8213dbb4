"""``cn.recordings.download`` against time: ``timeout`` bounds each wait of a download (for
the reply, then for each piece of the file), not its length; the client's own
``deadline`` bounds the whole. On the loop's virtual time (tests/_loop_time.py): the
fakes' sleeps and the bounds race exactly, however loaded the machine."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from contactnow_async import RequestTimeout
from tests._helpers import FakeAPI, client_for
from tests._loop_time import BACKENDS, backend
from tests.test_recordings import AUDIO, RECORDING, leftovers

pytestmark = pytest.mark.anyio

PIECE = 8192
PIECES = -(-len(AUDIO) // PIECE)  # 10


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return backend(request.param)


def trickle(*, every: float, stall_after: int | None = None) -> Any:
    """A route answering AUDIO (its Content-Length declared) a piece every ``every``
    seconds; after ``stall_after`` pieces nothing more comes for an hour."""

    def route(request: httpx.Request) -> httpx.Response:
        async def body() -> Any:
            for n, start in enumerate(range(0, len(AUDIO), PIECE)):
                await anyio.sleep(3600 if n == stall_after else every)
                yield AUDIO[start : start + PIECE]

        headers = {"content-type": "audio/wav", "content-length": str(len(AUDIO))}
        return httpx.Response(200, content=body(), headers=headers)

    return route


async def test_a_download_longer_than_timeout_that_keeps_coming_is_not_cut() -> None:
    """timeout bounded the whole attempt, and the deadline derived from it the whole call:
    a recording taking longer than it to arrive (an hour's call on a slow line) raised
    RequestTimeout however steadily it came, was fetched again from the start
    max_retries times, and could never be saved."""
    api = FakeAPI({RECORDING: trickle(every=10)})  # ten pieces, ten seconds apart
    cn, http = client_for(api, timeout=30)  # derived deadline: 30 * 3 + 10 * 2 = 110 s
    buffer = io.BytesIO()
    async with http, cn:
        began = anyio.current_time()
        saved = await cn.recordings.download(1, buffer)
        took = anyio.current_time() - began
    assert took == pytest.approx(PIECES * 10)  # past timeout and the derived deadline alike
    assert saved.size == len(AUDIO) and buffer.getvalue() == AUDIO
    assert api.calls("recording") == 1


async def test_progress_is_told_after_each_piece_of_the_declared_size() -> None:
    api = FakeAPI({RECORDING: trickle(every=1)})
    seen: list[tuple[float, int, int | None]] = []
    cn, http = client_for(api)
    async with http, cn:
        began = anyio.current_time()
        await cn.recordings.download(
            1,
            io.BytesIO(),
            progress=lambda done, size: seen.append((anyio.current_time() - began, done, size)),
        )
    # One call a piece, as it comes (a second apart), with the bytes so far of the declared size.
    assert [(round(at), done, size) for at, done, size in seen] == [
        (n + 1, min((n + 1) * PIECE, len(AUDIO)), len(AUDIO)) for n in range(PIECES)
    ]


@pytest.mark.parametrize("stall_after", [0, 3])
async def test_a_stalled_download_is_cut_at_timeout_and_tried_again(
    tmp_path: Path, stall_after: int
) -> None:
    api = FakeAPI({RECORDING: trickle(every=1, stall_after=stall_after)})
    cn, http = client_for(api, timeout=30, max_retries=1)
    target = tmp_path / "x.wav"
    target.write_bytes(b"old")
    async with http, cn:
        began = anyio.current_time()
        with pytest.raises(RequestTimeout) as info:
            await cn.recordings.download(1, target)
        took = anyio.current_time() - began
    message = str(info.value)
    assert info.value.sent and "timeout=30s" in message
    if stall_after:
        assert f"stalled: nothing more came for timeout=30s after {3 * PIECE:,} bytes" in message
    else:
        assert "nothing came from" in message and "each wait" in message
    # Each attempt: its pieces a second apart, then 30 s of nothing.
    assert took == pytest.approx(2 * (stall_after + 30))
    assert api.calls("recording") == 2  # a stall is transient: retried from the start
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == ["x.wav"]


async def test_the_clients_own_deadline_still_bounds_a_whole_download() -> None:
    api = FakeAPI({RECORDING: trickle(every=10)})
    cn, http = client_for(api, timeout=30, deadline=45)
    async with http, cn:
        began = anyio.current_time()
        with pytest.raises(RequestTimeout, match=r"deadline of 45s"):
            await cn.recordings.download(1, io.BytesIO())
        assert anyio.current_time() - began == pytest.approx(45)
    assert api.calls("recording") == 1


async def test_the_clients_own_deadline_bounds_the_token_a_refused_download_waits_for() -> None:
    """The download's deadline bounded its attempts, not the token it waited for: a
    recording refused for its token, whose new token was slow to come, ended long past the
    deadline (here at 70 s, the new token's own deadline, not at 45 s)."""
    api = FakeAPI({})
    issue = api._token
    first = True

    async def slow_second_token(request: httpx.Request) -> httpx.Response:
        nonlocal first
        if not first and request.url.params.get("action") == "get":
            await anyio.sleep(30)
        first = False
        return await issue(request)

    async def refused_late(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(40)
        return httpx.Response(200, json={"success": False, "error": "Expired token"})

    api._token = slow_second_token  # type: ignore[method-assign]  # wrap the fake's token.php
    api.routes[RECORDING] = refused_late
    cn, http = client_for(api, timeout=60, deadline=45)
    async with http, cn:
        began = anyio.current_time()
        with pytest.raises(RequestTimeout, match=r"not sent again .* within the deadline of 45s"):
            await cn.recordings.download(1, io.BytesIO())
        assert anyio.current_time() - began == pytest.approx(45)
    assert api.calls("recording") == 1


async def test_a_download_cancelled_midway_leaves_the_path_and_the_file_as_they_were(
    tmp_path: Path,
) -> None:
    api = FakeAPI({RECORDING: trickle(every=1)})
    cn, http = client_for(api)
    target = tmp_path / "x.wav"
    target.write_bytes(b"old")
    buffer = io.BytesIO(b"head:")
    buffer.seek(0, io.SEEK_END)
    async with http, cn:
        for to in (target, buffer):
            with anyio.CancelScope() as scope:

                def cancel_at_the_third(done: int, size: int | None, scope: Any = scope) -> None:
                    if done >= 3 * PIECE:
                        scope.cancel()

                await cn.recordings.download(1, to, progress=cancel_at_the_third)
            assert scope.cancelled_caught
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == ["x.wav"]
    assert buffer.getvalue() == b"head:"

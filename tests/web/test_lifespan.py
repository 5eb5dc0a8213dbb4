"""The wallboard's lifespan when its start fails or is cancelled: errors as themselves; and
its end in the README's own uvicorn server."""

from __future__ import annotations

import functools
import importlib.util
import socket
import sys
import types
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from contactnow_async import AgentWatcher, VirtualClock
from contactnow_async.simulator import Simulator
from contactnow_async.web import Wallboard, wallboard_app
from contactnow_async.web._board import Board

from ..test_readme_examples import README, readme_block
from ._support import HandSource, client_on

pytestmark = pytest.mark.anyio


def board_of(source: HandSource) -> Wallboard:
    return Wallboard(source)  # type: ignore[arg-type]  # HandSource is a Source


class BrokenSource(HandSource):
    """A source whose start fails before it reports started (a bad Redis URL, say)."""

    async def run(self, board: Board, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        await anyio.lowlevel.checkpoint()
        raise ValueError("redis URL must specify one of the supported schemes")


async def test_a_start_that_fails_raises_its_error_not_an_exception_group() -> None:
    # The watcher promises a closed client's RuntimeError as itself; through the wallboard it
    # came out in an exception group inside another (the source's task group, then the
    # lifespan's), and so did any source's error raised before it started.
    sim = Simulator(username="demo", password="secret", agents=3, seed=3, clock=VirtualClock())
    async with client_on(sim) as client:
        pass  # closed
    wallboard = wallboard_app(AgentWatcher(client, backfill=True))
    with anyio.fail_after(10), pytest.raises(RuntimeError, match="client is closed"):
        async with wallboard.lifespan():
            pass  # pragma: no cover -- refused before
    broken = board_of(BrokenSource())
    for _ in range(2):  # and the lifespan can be tried again
        with anyio.fail_after(10), pytest.raises(ValueError, match="supported schemes"):
            async with broken.lifespan():
                pass  # pragma: no cover -- refused before
        assert not broken.board.started


async def test_a_lifespan_cancelled_from_outside_can_run_again() -> None:
    # How a server may end it (its lifespan task cancelled): the wait for the source's
    # task was cut short by that cancellation, and the wallboard, though stopped, stayed
    # "already running" for ever after.
    source = HandSource()
    wallboard = board_of(source)
    for _ in range(2):
        with anyio.fail_after(10), anyio.CancelScope() as outside:
            async with wallboard.lifespan():
                assert wallboard.board.started
                outside.cancel()
                await anyio.sleep_forever()
        assert outside.cancelled_caught
        assert not wallboard.board.started


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn runs on asyncio
async def test_the_readme_server_stops_with_a_client_that_reads_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The README's Server ends every stream first, but a client that reads nothing cannot
    # be sent its stream's end: its connection never closed, and uvicorn waited for it
    # for ever (one frozen client kept a deploy from ever finishing).
    uvicorn = pytest.importorskip("uvicorn")
    if importlib.util.find_spec("fastapi") is None:  # not an extra: Starlette, FastAPI's base
        monkeypatch.setitem(sys.modules, "fastapi", types.SimpleNamespace(FastAPI=Starlette))
    made: list[Any] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, *_, **__: made.append(server))
    code = readme_block("fastapi").replace(
        "username=..., password=...", "username='u', password='p', base_url='http://127.0.0.1:9/'"
    )
    namespace: dict[str, Any] = {"__name__": "__main__"}  # as `python main.py` runs it
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our README
    await namespace["cn"].aclose()  # the README's watcher is not run: a hand source is
    (server,) = made
    source = HandSource([str(n) for n in range(50)])
    wallboard = board_of(source)
    namespace["wallboard"] = wallboard  # whose streams the README's Server ends
    server.config.app = Starlette(
        lifespan=lambda _: wallboard.lifespan(), routes=[Mount("/wallboard", wallboard)]
    )
    with socket.socket() as listening, socket.socket() as frozen:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # its connections'
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        frozen.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        frozen.connect(listening.getsockname())  # queued until the server accepts it
        frozen.sendall(b"GET /wallboard/events HTTP/1.1\r\nHost: wallboard\r\n\r\n")
        with anyio.fail_after(60):  # a guard: the test fails, not hangs, when uvicorn waits
            async with anyio.create_task_group() as group:
                group.start_soon(functools.partial(server.serve, sockets=[listening]))
                # Events until its stream is stuck in a write the client does not take.
                while not any(viewer.writing_since for viewer in wallboard.board.viewers):
                    if source.board is not None:
                        source.publish(str(source.uid % 50), "call")
                    await anyio.lowlevel.checkpoint()
                server.should_exit = True  # Ctrl-C
    assert not wallboard.board.started

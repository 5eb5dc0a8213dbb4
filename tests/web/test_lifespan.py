"""The wallboard's lifespan when its start fails or is cancelled: errors as themselves."""

from __future__ import annotations

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

from contactnow_async import AgentWatcher, VirtualClock
from contactnow_async.simulator import Simulator
from contactnow_async.web import Wallboard, wallboard_app
from contactnow_async.web._board import Board

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

"""Virtual time for the event loop itself: ``anyio.sleep``, cancel scopes' deadlines
and ``anyio.current_time()`` on a clock that jumps to the next timer whenever every
task is waiting, under asyncio and trio alike.

The library's :class:`~contactnow_async.VirtualClock` covers what reads the
library's clock (token lifetimes, backoff, the watcher's ticks); the call deadline
and the attempt timeout are cancel scopes, on the loop's own clock. A test of how
those bounds race each other on real time depends on how soon a loaded machine runs
the loop again: a 0.1 s margin is eaten by one stall. On this clock a 0.3 s sleep
ends at 0.3 s exactly, before a 0.4 s deadline, however loaded the machine is.

Only for tests whose waits are all on the loop (``httpx.MockTransport``, fakes that
``anyio.sleep``): a socket or a thread is not waited for before the clock jumps.
Use it by giving a module (or a test) the ``anyio_backend`` of :func:`backend`::

    @pytest.fixture(params=BACKENDS)
    def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
        return backend(request.param)
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any

import pytest

__all__ = ["BACKENDS", "VirtualTimeLoop", "backend"]

#: The ids are the suite's usual ones: ``test_x[asyncio]``, ``test_x[trio]``.
BACKENDS = [pytest.param("asyncio", id="asyncio"), pytest.param("trio", id="trio")]


class _JumpingSelector(selectors.DefaultSelector):
    """A selector that, where the loop would block until its next timer, moves the
    loop's clock to that timer instead. Ready I/O (a thread's wake-up included) is
    still seen first; with no timer at all it blocks for real, as the loop would."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        if timeout is None:
            blocked: list[tuple[selectors.SelectorKey, int]] = super().select(None)
            return blocked
        self._loop.jump(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on virtual time (trio's ``MockClock(autojump_threshold=0)``)."""

    def __init__(self) -> None:
        self._virtual_now = 0.0
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self._virtual_now

    def jump(self, seconds: float) -> None:
        self._virtual_now += seconds


def backend(name: str) -> tuple[str, dict[str, Any]]:
    """anyio's backend ``name`` with its options for virtual loop time (a new clock
    for each test)."""
    if name == "trio":
        from trio.testing import MockClock

        return "trio", {"clock": MockClock(autojump_threshold=0)}
    return "asyncio", {"loop_factory": VirtualTimeLoop}

"""Work in a worker thread that makes something to close: a file, a descriptor.

anyio waits for a worker thread to the end under trio, and under its own cancellation
on asyncio, but asyncio's own (``task.cancel()``: ``asyncio.timeout``, ``wait_for``, a
web framework ending the handler of a client gone) ends the wait at once while the
thread goes on, and what the thread then made was dropped, still open. :func:`run_owned`
hands it to ``release`` instead, in the thread or in the task, whichever comes last.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["run_owned"]

T = TypeVar("T")


async def run_owned(make: Callable[[], T], release: Callable[[T], object]) -> T:
    """``make()`` in a worker thread, and what it makes; given to ``release`` instead if
    this task stops waiting for it (a cancellation), never left open."""
    import anyio.to_thread  # at the first use, not with the client

    guard = threading.Lock()
    made: list[T] = []
    abandoned = False

    def run() -> T:
        result = make()
        with guard:
            if not abandoned:
                made.append(result)  # the task takes it, or releases it below
                return result
        release(result)  # nobody waits for it any more
        return result

    try:
        return await anyio.to_thread.run_sync(run)
    except BaseException:
        with guard:
            abandoned = True
        for result in made:  # made, but the task was cancelled before it got it
            release(result)
        raise

"""A task of the backend's own, which outlives the task that starts it (anyio has none)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Coroutine
from typing import Any

from ._http import _on_asyncio

__all__ = ["start_own_task"]


def start_own_task(run: Callable[[], Coroutine[Any, Any, None]]) -> object:
    """Run ``run()`` in an asyncio task or a trio system task, in the starter's context.

    Returns the asyncio task (the loop keeps only a weak reference: keep it), None on trio.
    A loop that refuses the task (closing, or its task factory failing) raises why; the
    coroutine made for it is closed, not left to be warned of as never awaited.
    """
    if _on_asyncio():  # asked without sniffio, which only trio requires
        import asyncio

        coro = run()
        try:
            return asyncio.get_running_loop().create_task(coro)
        except BaseException:  # refused: the coroutine never ran
            coro.close()
            raise
    import trio.lowlevel

    # The starter's context, as asyncio's create_task gives its task.
    trio.lowlevel.spawn_system_task(run, context=contextvars.copy_context())
    return None

"""Ctrl-C while a command runs: the first stops it cleanly, a second ends it at once."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


async def second_interrupt_ends_at_once(entry: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``entry``; Ctrl-C stops it cleanly, a second Ctrl-C while it stops ends the
    process at once (exit 130).

    asyncio's runner cancels the command at the first Ctrl-C and raises KeyboardInterrupt
    at the second, inside whichever task runs: out of a task group that was a traceback
    and exit 1, and at times the runner's shutdown then spun for ever.
    """
    stop_cleanly = signal.getsignal(signal.SIGINT)  # the runner's, where it set one
    if not callable(stop_cleanly) or threading.current_thread() is not threading.main_thread():
        return await entry()

    def interrupted(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, _exit_interrupted)
        _INTERRUPTED.set()
        stop_cleanly(signum, frame)

    signal.signal(signal.SIGINT, interrupted)
    try:
        return await entry()
    finally:
        if signal.getsignal(signal.SIGINT) is interrupted:
            signal.signal(signal.SIGINT, stop_cleanly)


#: Set at the first Ctrl-C of a command (see :func:`was_interrupted`).
_INTERRUPTED = threading.Event()


def was_interrupted(exc: BaseException) -> bool:
    """Whether ``exc``, out of the runner, is the end of a command stopped by Ctrl-C.

    From Python 3.11 the runner raises KeyboardInterrupt. Before (anyio's own runner,
    without ``Task.uncancel``), the command's cancellation came out as CancelledError: a
    traceback and exit 1 where Ctrl-C means exit 130.
    """
    if isinstance(exc, KeyboardInterrupt):
        return True
    return isinstance(exc, asyncio.CancelledError) and _INTERRUPTED.is_set()


def _exit_interrupted(signum: int, frame: Any) -> None:
    """The second Ctrl-C: the user will not wait for the clean stop the first began."""
    os._exit(128 + signal.SIGINT)


@contextmanager
def sigint_restored() -> Iterator[None]:
    """Put back, after the block, the Ctrl-C handler that a second Ctrl-C's would have
    replaced for the runner's shutdown (click's CliRunner: the process goes on)."""
    before = signal.getsignal(signal.SIGINT)
    _INTERRUPTED.clear()
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is _exit_interrupted:
            signal.signal(signal.SIGINT, before)

"""The end of a test's child process (``tests/redis/_procs.py``, ``tests/_token_file_procs.py``).

Nothing from pytest: a child imports the library and no more.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable
from typing import NoReturn

import anyio


def run_then_exit(
    role: Callable[[argparse.Namespace], Awaitable[None]], args: argparse.Namespace
) -> NoReturn:
    """Run ``role(args)`` on asyncio, then end the process at once.

    Done, and said so: the interpreter's teardown (a collection of everything redis-py,
    httpx and aiohttp made) is 0.1 s of CPU a process for nobody. An error raised by
    ``role`` still ends it the usual way, with its traceback and status 1.
    """
    anyio.run(role, args, backend="asyncio")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

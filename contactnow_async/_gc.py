"""The cyclic garbage collector, paused while a large reply is decoded and its models built.

Decoding a reply of thousands of agents and building their models allocates
hundreds of thousands of container objects (dicts, lists, models). CPython's
generational collector (before 3.14) runs a young collection every 700 such
allocations, and the survivors pile up until a full collection walks the whole
heap, the previous poll's snapshot included, more than once per reply: at
50,000 agents that doubles ``json.loads``' own time and quadruples building
the models (``benchmarks/RESULTS.md``), and is why the per-agent cost of a
large poll grew with the centre's size.

None of these objects can be part of a reference cycle (JSON and XML give
trees; a model holds its row), so there is nothing for the collector to find
while they are made. :func:`paused_for` turns it off for that synchronous
stretch (no ``await`` inside, so no other task of the loop runs meanwhile) and
back on at its end, error or not, unless it was off already (an application's
own ``gc.disable()`` is left as it was). The young collection then due runs
once, at the next allocation, over the new objects.

The switch is the process's: another thread allocating in that stretch (a few
milliseconds per thousand agents) is not collected until it ends. Pauses in several
threads at once (a client per event loop) are counted as one: the collector comes back
when the last of them ends, as it was before the first began.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from types import TracebackType

__all__ = ["LARGE_BODY", "LARGE_ROWS", "paused_for"]

#: A body this long (bytes; about 20,000 live rows) is decoded with the collector paused.
#: Below it, a pause costs about what it saves: the young collection then due walks
#: every new row at once, out of the CPU's caches, where the running collector walks
#: them a few hundred at a time as they are made (a poll of 10,000 agents: 1.36x
#: decoding alone without the pause, 1.44x with it, in one run).
LARGE_BODY = 4 * 1024 * 1024
#: This many rows are made models with the collector paused.
LARGE_ROWS = 1000


#: The pauses under way in this process, and whether the collector was on before the
#: first of them: a pause read and switched it on its own, so one that began as another's
#: ended could take that one's "off" for the application's, and leave it off for good.
_guard = threading.Lock()
_pauses = 0
_resume = False


class _Paused:
    """The collector off from ``__enter__`` to ``__exit__`` (see the module)."""

    __slots__ = ()

    def __enter__(self) -> None:
        global _pauses, _resume
        with _guard:
            if not _pauses:
                _resume = gc.isenabled()
                gc.disable()
            _pauses += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        global _pauses
        with _guard:
            _pauses -= 1
            if not _pauses and _resume:
                gc.enable()


_AS_IS = contextlib.nullcontext()


def paused_for(large: bool) -> contextlib.AbstractContextManager[None]:
    """A context in which the collector is paused if ``large``, else left as it is."""
    return _Paused() if large else _AS_IS

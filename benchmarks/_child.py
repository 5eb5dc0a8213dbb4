"""A benchmark's server process that ends with the benchmark: ``python -m benchmarks._child
MODULE [ARG ...]`` runs ``python -m MODULE [ARG ...]`` in this process.

The benchmark stops each server it starts when it leaves the server's block, and the
shared ones at exit; a benchmark killed (``SIGKILL``, a test's timeout) or ended by a
``SIGTERM`` (Python's default: no ``finally``, no ``atexit``) ran neither, and its
servers kept running. Here, on Linux, the kernel sends this process ``SIGTERM`` when
the benchmark dies (``PR_SET_PDEATHSIG``), and a benchmark gone before that was set
ends it at once. Elsewhere it only runs the module.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys

#: The benchmark's pid, set by the benchmark for the child (see :func:`main`).
PARENT = "CONTACTNOW_BENCH_PARENT"
_PR_SET_PDEATHSIG = 1


def main() -> None:
    module, *args = sys.argv[1:]
    parent = int(os.environ.pop(PARENT, "0"))  # not for this process's own children
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if parent and os.getppid() != parent:  # the benchmark died before the line above
            sys.exit(1)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

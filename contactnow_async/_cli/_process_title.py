"""A secret given on the command line, hidden from ``ps`` while the command runs.

Python keeps its own copy of the arguments (``sys.argv``): the process's original ones,
which ``ps`` and ``/proc/PID/cmdline`` show to every user of the machine, are
overwritten in place with ``x`` (as mysql does with its ``--password``). Linux only,
where the kernel says where they are (``/proc/self/stat``); elsewhere, or where it cannot
be done, the arguments stay as they are: the variable is the safe way to give a secret.
"""

from __future__ import annotations

import os
import sys


def hide_from_ps(secret: str) -> None:
    """Overwrite each argument that is ``secret``, or an option's ``--NAME=secret``, with
    ``x`` in the command line ``ps`` shows; best effort (see the module)."""
    if not secret or not sys.platform.startswith("linux"):
        return
    try:
        needle = os.fsencode(secret)  # argv's bytes, as Python decoded them
        with open("/proc/self/stat", "rb") as stat_file:
            stat = stat_file.read()
        # The fields after the command's name, "(...)", which may hold spaces: the first
        # is field 3 (state); arg_start and arg_end are fields 48 and 49.
        fields = stat[stat.rindex(b")") + 2 :].split()
        start, end = int(fields[45]), int(fields[46])
        with open("/proc/self/mem", "r+b", buffering=0) as memory:
            memory.seek(start)
            arguments = memory.read(end - start).split(b"\0")
            hidden = [_hidden(argument, needle) for argument in arguments]
            if hidden != arguments:
                memory.seek(start)
                memory.write(b"\0".join(hidden))  # same length: nothing else moves
    except (OSError, ValueError, IndexError):  # no /proc, an older kernel, a refused write
        pass


def _hidden(argument: bytes, needle: bytes) -> bytes:
    mask = b"x" * len(needle)
    if argument == needle:
        return mask
    name, equals, value = argument.partition(b"=")
    if equals and name.startswith(b"--") and value == needle:
        return name + equals + mask
    return argument

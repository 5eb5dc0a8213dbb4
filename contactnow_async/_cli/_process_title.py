"""A secret given on the command line, hidden from ``ps`` while the command runs.

Python keeps its own copy of the arguments (``sys.argv``): the process's original ones,
which ``ps`` and ``/proc/PID/cmdline`` show to every user of the machine, are
overwritten in place with ``x`` (as mysql does with its ``--password``). Linux only,
where the kernel says where they are (``/proc/self/stat``); elsewhere, or where it cannot
be done, the arguments stay as they are: the variable is the safe way to give a secret.
"""

from __future__ import annotations

import os
import re
import sys


def hide_from_ps(option: str, secret: str) -> None:
    """Overwrite ``secret``, the value of ``option`` (``--password``), with ``x`` in the
    command line ``ps`` shows; best effort (see the module)."""
    if secret:
        hide_argument(option, secret, b"x" * len(os.fsencode(secret)))


def hide_redis_password(url: str) -> None:
    """Overwrite the passwords in the ``--redis`` URL ``url`` with ``x`` in the command line
    ``ps`` shows, the rest of the URL as it was: its userinfo's, and a query's ``password``
    and ``ssl_password`` (redis-py reads those too: a unix socket's only way to give one);
    best effort (see the module)."""
    given = os.fsencode(url)
    shown = given
    scheme, separator, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")  # the last '@': a password may hold one
    user, colon, password = userinfo.partition(":")
    if separator and at and colon and password:
        masked = b"x" * len(os.fsencode(password))
        after = f"@{host}{slash}{path}"
        shown = os.fsencode(f"{scheme}://{user}:") + masked + os.fsencode(after)
    shown = _QUERY_PASSWORD.sub(lambda found: found[1] + b"x" * len(found[2]), shown)
    if shown != given:
        hide_argument("--redis", url, shown)


#: A password in a Redis URL's query: its name (and the ? or & before it), and its value.
_QUERY_PASSWORD = re.compile(rb"([?&](?:ssl_)?password=)([^&#]*)")


def hide_argument(option: str, value: str, shown: bytes) -> None:
    """Write ``shown`` (as many bytes as ``value`` has) over ``value`` where it is given to
    ``option`` (``--option value`` or ``--option=value``) in the command line ``ps`` shows."""
    if not value or not sys.platform.startswith("linux"):
        return
    try:
        needle = os.fsencode(value)  # argv's bytes, as Python decoded them
        if len(shown) != len(needle):  # pragma: no cover -- the callers' own mistake
            return
        with open("/proc/self/stat", "rb") as stat_file:
            stat = stat_file.read()
        # The fields after the command's name, "(...)", which may hold spaces: the first
        # is field 3 (state); arg_start and arg_end are fields 48 and 49.
        fields = stat[stat.rindex(b")") + 2 :].split()
        start, end = int(fields[45]), int(fields[46])
        with open("/proc/self/mem", "r+b", buffering=0) as memory:
            memory.seek(start)
            arguments = memory.read(end - start).split(b"\0")
            name = os.fsencode(option)
            hidden = [
                shown
                if argument == needle and at > 0 and arguments[at - 1] == name
                else name + b"=" + shown
                if argument == name + b"=" + needle
                else argument
                for at, argument in enumerate(arguments)
            ]
            if hidden != arguments:
                memory.seek(start)
                memory.write(b"\0".join(hidden))  # same length: nothing else moves
    except (OSError, ValueError, IndexError):  # no /proc, an older kernel, a refused write
        pass

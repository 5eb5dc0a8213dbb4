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
from collections.abc import Callable


def hide_from_ps(option: str, secret: str) -> None:
    """Overwrite the value of ``option`` (``--password``) with ``x`` in the command line
    ``ps`` shows, each time it is given (the command reads the last, ``secret``; an earlier
    one was as secret); best effort (see the module)."""
    if secret:
        hide_argument(option, lambda given: b"x" * len(given))


def hide_redis_password(url: str) -> None:
    """Overwrite the passwords in the ``--redis`` URL ``url`` (and in any other given to
    ``--redis`` before it) with ``x`` in the command line ``ps`` shows, the rest of the URL
    as it was: its userinfo's, and a query's ``password`` and ``ssl_password`` (redis-py
    reads those too: a unix socket's only way to give one); best effort (see the module)."""
    if url:
        hide_argument("--redis", _without_passwords)


def hide_base_url_password(url: str) -> None:
    """Overwrite the password in the user info of the ``--base-url`` URL ``url`` (a
    gateway's, sent as Basic auth), and of any other given to ``--base-url`` before it,
    with ``x`` in the command line ``ps`` shows; best effort (see the module)."""
    if url:
        hide_argument("--base-url", _without_passwords)


def _without_passwords(given: bytes) -> bytes:
    """A URL's bytes (``--redis``, ``--base-url``) with each password's overwritten with
    ``x``."""
    url = os.fsdecode(given)
    shown = given
    scheme, separator, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")  # the last '@': a password may hold one
    user, colon, password = userinfo.partition(":")
    if separator and at and colon and password:
        masked = b"x" * len(os.fsencode(password))
        after = f"@{host}{slash}{path}"
        shown = os.fsencode(f"{scheme}://{user}:") + masked + os.fsencode(after)
    return _QUERY_PASSWORD.sub(lambda found: found[1] + b"x" * len(found[2]), shown)


#: A password in a Redis URL's query: its name (and the ? or & before it), and its value.
_QUERY_PASSWORD = re.compile(rb"([?&](?:ssl_)?password=)([^&#]*)")


def hidden_arguments(
    arguments: list[bytes], option: str, hide: Callable[[bytes], bytes]
) -> list[bytes]:
    """``arguments`` with each value given to ``option`` (``--option value`` or
    ``--option=value``, before any ``--``) replaced by ``hide(value)`` where that has as
    many bytes (nothing else moves)."""
    name = os.fsencode(option)
    hidden = list(arguments)
    value_next = False  # the argument before was the option itself (not its value)
    for at, argument in enumerate(arguments):
        if value_next:
            value, prefix = argument, b""
            value_next = False
        elif argument == b"--":
            break
        elif argument == name:
            value_next = True
            continue
        elif argument.startswith(name + b"="):
            value, prefix = argument[len(name) + 1 :], name + b"="
        else:
            continue
        shown = hide(value)
        if len(shown) == len(value):
            hidden[at] = prefix + shown
    return hidden


def hide_argument(option: str, hide: Callable[[bytes], bytes]) -> None:
    """Write ``hide(value)`` over each value given to ``option`` in the command line ``ps``
    shows (``hidden_arguments``)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        with open("/proc/self/stat", "rb") as stat_file:
            stat = stat_file.read()
        # The fields after the command's name, "(...)", which may hold spaces: the first
        # is field 3 (state); arg_start and arg_end are fields 48 and 49.
        fields = stat[stat.rindex(b")") + 2 :].split()
        start, end = int(fields[45]), int(fields[46])
        with open("/proc/self/mem", "r+b", buffering=0) as memory:
            memory.seek(start)
            arguments = memory.read(end - start).split(b"\0")
            hidden = hidden_arguments(arguments, option, hide)
            if hidden != arguments:
                memory.seek(start)
                memory.write(b"\0".join(hidden))  # same length: nothing else moves
    except (OSError, ValueError, IndexError):  # no /proc, an older kernel, a refused write
        pass

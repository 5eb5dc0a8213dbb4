"""A TIME option's value (``--since``, ``--until``), its errors naming the option."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from ._common import fail, parse_time

#: Where unix time starts: the API refuses a time before it.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def option_time(flag: str, text: str, *, now: datetime | None = None) -> datetime:
    """``text`` as :func:`parse_time` reads it; an error is one line naming ``flag``
    (exit 2), as click's own are, and so is a time before 1970 (the library's refusal
    named its own argument, ``tstart``, with a ``datetime`` repr)."""
    try:
        moment = parse_time(text, now=now)
    except click.BadParameter as exc:
        fail(f"Invalid value for '{flag}': {exc.message}")
    if moment < EPOCH:
        fail(f"Invalid value for '{flag}': {text!r} is before 1970 (unix time starts there)")
    return moment

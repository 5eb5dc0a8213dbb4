"""A TIME option's value (``--since``, ``--until``), its errors naming the option."""

from __future__ import annotations

import re
from datetime import date, datetime

import click

from .._values import EPOCH
from ._common import fail, parse_time

#: A bare day, as ``--since 2026-12-04`` gives it.
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def option_time(flag: str, text: str, *, now: datetime | None = None) -> datetime:
    """``text`` as :func:`parse_time` reads it; an error is one line naming ``flag``
    (exit 2), as click's own are, and so is a time before 1970 (the library's refusal
    named its own argument, ``tstart``, with a ``datetime`` repr)."""
    try:
        moment = parse_time(text, now=now)
    except click.BadParameter as exc:
        fail(f"Invalid value for '{flag}': {exc.message}")
    _since_1970(flag, text, moment)
    return moment


def option_day_or_time(flag: str, text: str) -> date | datetime:
    """A record date's bound: a bare day (``2026-12-04``) as a ``date``, which
    ``records.read`` reads as that whole day in the record time zone (its midnight in UTC
    left the day out of ``--until``); anything else as :func:`option_time` reads it."""
    if _DAY.fullmatch(text.strip()):
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:  # 2026-02-30: option_time says why, naming the flag
            pass
        else:
            _since_1970(flag, text, day)
            return day
    return option_time(flag, text)


def shown_window(start: datetime, stop: datetime) -> str:
    """``from START to STOP``, each to the second, in the zone it was given in."""
    return f"from {start.isoformat(timespec='seconds')} to {stop.isoformat(timespec='seconds')}"


def _since_1970(flag: str, text: str, moment: date) -> None:
    """One error line naming ``flag`` if ``moment`` (a day, or a time) is before 1970:
    the API refuses a time before unix time starts."""
    first = EPOCH if isinstance(moment, datetime) else EPOCH.date()  # like with like
    if moment < first:
        fail(f"Invalid value for '{flag}': {text!r} is before 1970 (unix time starts there)")

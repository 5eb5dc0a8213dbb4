"""A TIME option's value (``--since``, ``--until``), its errors naming the option, and the
centre's zone (``--record-tz``) that a day or a time without an offset is read in."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

import click

from .._values import EPOCH
from ._common import fail

#: A bare day, as ``--since 2026-12-04`` gives it.
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_RELATIVE = re.compile(r"^-?(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


#: A fixed offset from UTC, as ISO 8601 writes one: +01:00, -0530.
_OFFSET = re.compile(r"([+-])([01][0-9]|2[0-3]):?([0-5][0-9])")


def _zone(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tzinfo:
    """A named zone (Europe/London: its summer time too), or a fixed offset (+01:00)."""
    if value is None:
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    offset = _OFFSET.fullmatch(value.strip())
    if offset is not None:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{value!r} is not a time zone (say Europe/London, or an offset: +01:00)"
        ) from None


def record_tz_option(
    help: str = "The centre's time zone, e.g. Europe/London or +01:00: a day, or a time without an "
    "offset, in --since/--until is read in it (default: UTC).",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--record-tz ZONE``: the centre's zone (the client's ``record_tz``), a ``tzinfo``;
    ``$CONTACTNOW_RECORD_TZ`` when not given (set once for every command), else UTC."""
    return click.option(
        "--record-tz",
        callback=_zone,
        metavar="ZONE",
        envvar=RECORD_TZ_VARIABLE,
        show_envvar=True,
        help=help,
    )


#: The variable that gives every command's ``--record-tz`` when the flag is not given.
RECORD_TZ_VARIABLE = "CONTACTNOW_RECORD_TZ"


def parse_time(text: str, *, now: datetime | None = None, zone: tzinfo = timezone.utc) -> datetime:
    """A time from the command line: unix seconds, ISO 8601, ``now``, or ``90m`` / ``2h`` ago.

    A day, or a time without an offset, is read in ``zone`` and given in UTC (a
    ``ZoneInfo`` datetime's arithmetic is wall-clock time: an hour added across a change
    of the clocks is not an hour). Raises ``click.BadParameter`` with what is accepted.
    """
    text = text.strip()
    moment = now or datetime.now(timezone.utc)
    if text == "now":
        return moment
    try:
        if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
            return datetime.fromtimestamp(float(text), tz=timezone.utc)
        match = _RELATIVE.match(text)
        if match:
            return moment - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    except (OverflowError, OSError, ValueError):  # 999999999w ago: before year 1
        raise click.BadParameter(f"{text!r} is out of range") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a time: use unix seconds (9 to 11 digits), ISO 8601 "
            "(2026-11-23T09:00:00Z), 'now', or an age like 90m, 2h, 1d"
        ) from None
    if parsed.tzinfo:
        return parsed
    try:
        return parsed.replace(tzinfo=zone).astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01 east of UTC: before year 1 in UTC
        raise click.BadParameter(f"{text!r} is out of range") from None


def option_time(
    flag: str, text: str, *, now: datetime | None = None, zone: tzinfo = timezone.utc
) -> datetime:
    """``text`` as :func:`parse_time` reads it; an error is one line naming ``flag``
    (exit 2), as click's own are, and so is a time before 1970 (the library's refusal
    named its own argument, ``tstart``, with a ``datetime`` repr)."""
    try:
        moment = parse_time(text, now=now, zone=zone)
    except click.BadParameter as exc:
        fail(f"Invalid value for '{flag}': {exc.message}")
    _since_1970(flag, text, moment, zone)
    return moment


def option_day_or_time(flag: str, text: str, *, zone: tzinfo, end: bool = False) -> date | datetime:
    """A record date's bound: a bare day (``2026-12-04``) as a ``date``, which
    ``records.read`` reads as that whole day in the record time zone (its midnight in UTC
    left the day out of ``--until``); anything else as :func:`option_time` reads it.
    A day is checked against 1970 at the moment sent in ``zone``: its midnight, or with
    ``end`` (``--until``) its 23:59:59."""
    if _DAY.fullmatch(text.strip()):
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:  # 2026-02-30: option_time says why, naming the flag
            pass
        else:
            sent = datetime.combine(day, time(23, 59, 59) if end else time.min, zone)
            _since_1970(flag, text, sent, zone)
            return day
    return option_time(flag, text, zone=zone)


def shown_window(start: datetime, stop: datetime, zone: tzinfo) -> str:
    """``from START to STOP``, each to the second, in ``zone``."""
    return f"from {shown_time(start, zone)} to {shown_time(stop, zone)}"


def shown_time(moment: datetime, zone: tzinfo) -> str:
    """``moment`` to the second, in ``zone``: as the user gave it (in --record-tz)."""
    try:
        return moment.astimezone(zone).isoformat(timespec="seconds")
    except OverflowError:  # --until 9999-12-31T23:00Z, east of UTC: past year 9999 there
        return moment.isoformat(timespec="seconds")


def refuse_reversed(
    since: str, until: str, start: date | datetime, stop: date | datetime, zone: tzinfo
) -> None:
    """One error line, in the flags' words, if ``--until`` is before ``--since`` (a day is
    all of it in ``zone``, as ``records.read`` reads it; its refusal named its own
    arguments, ``tstart`` and ``tstop``)."""
    first = start if isinstance(start, datetime) else datetime.combine(start, time.min, zone)
    last = stop if isinstance(stop, datetime) else datetime.combine(stop, time.max, zone)
    if first.replace(microsecond=0) > last.replace(microsecond=0):  # record dates: seconds
        fail(f"--until {until.strip()} is before --since {since.strip()}")


def _since_1970(flag: str, text: str, moment: datetime, zone: tzinfo) -> None:
    """One error line naming ``flag`` if ``moment`` is before 1970 in UTC: the API refuses
    a time before unix time starts (in a zone east of UTC, after its own midnight)."""
    if moment < EPOCH:
        where = "there" if zone is timezone.utc else f"at {shown_time(EPOCH, zone)} in {zone}"
        fail(f"Invalid value for '{flag}': {text!r} is before 1970 (unix time starts {where})")

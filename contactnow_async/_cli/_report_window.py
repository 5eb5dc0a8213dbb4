"""What the ``contactnow report`` commands share: the window options (``--since``,
``--until``), the window they give, and a CSV line printed as the API sent it."""

from __future__ import annotations

__all__ = ["echo_csv", "since_option", "until_option", "window"]

import csv
import io
from collections.abc import Iterable
from datetime import datetime, timezone, tzinfo
from typing import Any

import click

from ._common import console, fail
from ._text import printable
from ._times import option_time, shown_time


def window(since: str, until: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """``--since`` and ``--until`` read at one now; reversed is one error line."""
    now = datetime.now(timezone.utc)
    start = option_time("--since", since, now=now, zone=zone)
    stop = option_time("--until", until, now=now, zone=zone)
    if stop < start:
        fail(f"--until ({shown_time(stop, zone)}) is before --since ({shown_time(start, zone)})")
    return start, stop


def _csv_line(values: Iterable[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(["" if v is None else v for v in values])
    return out.getvalue()


def echo_csv(values: Iterable[Any]) -> None:
    """Print one CSV line: the API's text as it is when piped (click would strip what
    looks like a colour from it), escaped on a terminal (where it could send commands)."""
    line = _csv_line(values)
    click.echo(printable(line) if console.is_terminal else line, color=True)


since_option = click.option(
    "--since",
    default="1d",
    show_default=True,
    help="Start: unix, ISO 8601 (without an offset: in --record-tz), now, or an age (2h).",
)
until_option = click.option(
    "--until", "until_", default="now", show_default=True, help="End, same forms."
)

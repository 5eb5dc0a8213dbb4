"""``contactnow status-log``: agent status history, as rows or as time in each status."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import attrs
import click
from rich.progress import Progress

from .. import StatusLogEntry
from .._values import EPOCH
from ..analytics import time_in_status
from ._common import (
    EXIT_USAGE,
    MANY_REQUESTS,
    MANY_REQUESTS_WIRE,
    ONE_SHOT_WIRE,
    OutputConsole,
    Settings,
    agents_option,
    connect,
    emit_json,
    fail,
    print_table,
    run,
)
from ._times import option_time, record_tz_option, shown_time, shown_window

#: The longest window read without --yes, in days.
MAX_WINDOW_DAYS = 31
#: How far before --since ``--summary`` reads too: each agent's status when the window
#: opens is its last row before it (a status that began earlier counts from --since).
SUMMARY_LOOKBACK = timedelta(days=1)


@click.command("status-log")
@agents_option()
@click.option(
    "--since",
    default="1h",
    show_default=True,
    help="Start: unix, ISO 8601 (without an offset: in --record-tz), now, or an age (90m, 2h, 1d).",
)
@click.option("--until", "until_", default="now", show_default=True, help="End, same forms.")
@record_tz_option()
@click.option(
    "--summary",
    is_flag=True,
    help="Time in each status per agent instead of rows (the day before --since is read "
    "too, for each agent's status when the window opens; none is counted past now).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per row (with --summary: one object of seconds per status).",
)
@click.option(
    "--yes",
    "long_window",
    is_flag=True,
    help=f"Read a window longer than {MAX_WINDOW_DAYS} days (one request per hour of it).",
)
@click.pass_obj
def status_log(
    settings: Settings,
    agent_ids: tuple[str, ...],
    since: str,
    until_: str,
    record_tz: tzinfo,
    summary: bool,
    as_json: bool,
    long_window: bool,
) -> None:
    """Read agent status history (reads a long window in hourly pieces, with progress).

    A window longer than 31 days is refused unless --yes: it is read one hour per request.
    """
    now = datetime.now(timezone.utc)
    start = option_time("--since", since, now=now, zone=record_tz)
    stop = option_time("--until", until_, now=now, zone=record_tz)
    if start > now:
        fail(f"--since ({shown_time(start, record_tz)}) is in the future")
    if stop < start:
        fail(
            f"--until ({shown_time(stop, record_tz)}) is before --since "
            f"({shown_time(start, record_tz)})"
        )
    # --summary reads the day before --since too (a status begun before the window counts
    # from --since), but not before 1970, where the log holds nothing (and refuses a time).
    lookback = min(SUMMARY_LOOKBACK, max(start - EPOCH, timedelta(0)))
    low = start - lookback if summary else start
    hours = _piece_count(low, stop, now)  # the requests the read makes
    if min(stop, now) - start > timedelta(days=MAX_WINDOW_DAYS) and not long_window:
        fail(
            f"the window is {(min(stop, now) - start).days} days long: that is {hours:,} "
            f"hourly requests. Narrow the window, or add --yes to read more than "
            f"{MAX_WINDOW_DAYS} days",
            EXIT_USAGE,
        )

    async def main() -> tuple[list[StatusLogEntry], datetime]:
        wire = MANY_REQUESTS_WIRE if hours >= MANY_REQUESTS else ONE_SHOT_WIRE
        async with connect(settings, transport=wire) as client:
            # "now" is when the read starts, not when the command did: connecting (or
            # starting --simulate's simulator) may take a second that has rows in it.
            high = max(stop, datetime.now(timezone.utc)) if until_ == "now" else stop
            rows = await _read_window(client, agent_ids, low, high, reached)
            # Our clock may run ahead of the centre's (a host without NTP): corrected as the
            # token is, by the API's Date when it was got.
            offset = (await client.tokens.get()).clock_offset if summary else 0.0
            return rows, _summary_end(rows, high, offset)

    reached = _Reached()
    try:
        rows, end = run(settings, main)
    except SystemExit as exc:  # an error line said why: say how far the read got too
        if exc.code and reached.pieces and reached.up_to is not None:
            click.echo(
                f"status-log: {reached.pieces} of {reached.total} hourly requests read, "
                f"{shown_window(low, reached.up_to, record_tz)}, before it stopped; nothing "
                "was printed",
                err=True,
            )
        raise
    if summary:
        totals = time_in_status(rows, start, max(start, end))
        if as_json:
            emit_json(totals)
            return
        statuses = sorted({status for spent in totals.values() for status in spent})
        print_table(
            ["agent", *statuses],
            [
                [agent, *(f"{spent.get(s, 0):.0f}s" for s in statuses)]
                for agent, spent in sorted(totals.items())
            ],
            none=_nothing_counted(rows, agent_ids, start, max(start, end), record_tz),
        )
        return
    if as_json:
        for row in rows:
            emit_json(
                {
                    "log_id": row.log_id,
                    "started_ts": row.started_ts,
                    "agent_id": row.agent_id,
                    "status": row.status,
                    "sub_status": row.sub_status,
                    "call_id": row.call_id,
                }
            )
    else:
        print_table(
            ["log id", "started", "agent", "status", "sub-status", "call"],
            [
                [
                    r.log_id,
                    shown_time(r.started_at, record_tz),  # the zone of --since/--until
                    r.agent_id,
                    r.status,
                    r.sub_status,
                    r.call_id or "",
                ]
                for r in rows
            ],
            none=_nothing_logged(agent_ids, start, stop, record_tz),
        )


def _nothing_logged(agent_ids: Sequence[str], start: datetime, stop: datetime, zone: tzinfo) -> str:
    """What an empty table says: nothing logged in the window (for the agents asked for)."""
    whose = f" for agent {', '.join(agent_ids)}" if agent_ids else ""
    return f"no status changes logged{whose} {shown_window(start, stop, zone)}"


def _nothing_counted(
    rows: Sequence[StatusLogEntry],
    agent_ids: Sequence[str],
    start: datetime,
    end: datetime,
    zone: tzinfo,
) -> str:
    """What an empty summary says: nothing logged, or (rows read, the last status of
    each counted up to the window's end) a window that ends where it starts."""
    window = shown_window(start, end, zone)
    if rows and end <= start:
        return f"no time in a status to count: the window {window} ends where it starts"
    if rows:  # each status read began at the window's end
        return f"no time in a status to count {window}"
    nothing = _nothing_logged(agent_ids, start, end, zone)
    return f"{nothing}, nor in the day before it: no time in a status to count"


def _summary_end(rows: Sequence[StatusLogEntry], high: datetime, offset: float) -> datetime:
    """Where the summary's window ends: ``high``, but never past the centre's now (an
    ``--until`` in the future would count each agent's last status until then). Now is
    the later of our clock corrected by ``offset`` (the token's ``clock_offset``: the
    centre's clock less ours) and the newest row: a server has already lived it."""
    newest = max((row.started_ts for row in rows), default=0)
    # In unix seconds, not before 1970: a Date of year 1 made a datetime before year 1.
    now = max(datetime.now(timezone.utc).timestamp() + offset, newest, 0)
    return min(high, datetime.fromtimestamp(now, tz=timezone.utc))


def _pieces(start: datetime, stop: datetime, now: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, stop] in hourly pieces, made as they are read (a century is not a list).

    What lies in the future (``--until`` tomorrow) is one piece, not one per hour.
    """
    cursor = start
    hourly_until = min(stop, now)
    if cursor >= stop:
        yield start, stop
        return
    while cursor < stop:
        end = min(cursor + timedelta(hours=1), stop) if cursor < hourly_until else stop
        yield cursor, end
        cursor = end


def _piece_count(start: datetime, stop: datetime, now: datetime) -> int:
    """How many pieces :func:`_pieces` yields, by arithmetic."""
    hourly_until = min(stop, now)
    if start >= stop:
        return 1
    hourly = max(0, math.ceil((hourly_until - start) / timedelta(hours=1)))
    reached = start + hourly * timedelta(hours=1)
    return hourly + (1 if reached < stop else 0)


@attrs.define
class _Reached:
    """How far a window's read got: its pieces read, of how many, up to when."""

    pieces: int = 0
    total: int = 0
    up_to: datetime | None = None


async def _read_window(
    client: Any, agent_ids: Sequence[str], start: datetime, stop: datetime, reached: _Reached
) -> list[StatusLogEntry]:
    """Read [start, stop] an hour at a time, with a progress bar when stderr is a terminal;
    ``reached`` follows how far it got."""
    now = datetime.now(timezone.utc)
    rows: dict[int, StatusLogEntry] = {}
    progress_console = OutputConsole(stderr=True)
    with Progress(
        console=progress_console, disable=not progress_console.is_terminal, transient=True
    ) as progress:
        reached.total = _piece_count(start, stop, now)
        task = progress.add_task("reading status_log", total=reached.total)
        for low, high in _pieces(start, stop, now):
            for row in await client.status_log.read(
                agent=list(agent_ids) or None, tstart=low, tstop=high
            ):
                rows[row.log_id] = row  # the pieces share their edges: keep each row once
            progress.advance(task)
            reached.pieces, reached.up_to = reached.pieces + 1, high
    return [rows[log_id] for log_id in sorted(rows)]

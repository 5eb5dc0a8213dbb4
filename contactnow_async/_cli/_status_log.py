"""``contactnow status-log``: agent status history, as rows or as time in each status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import click
from rich.progress import Progress

from .. import StatusLogEntry
from ..analytics import time_in_status
from ._common import (
    EXIT_USAGE,
    OutputConsole,
    Settings,
    connect,
    emit_json,
    fail,
    parse_time,
    print_table,
    run,
)


@click.command("status-log")
@click.option("--agent", "agent_ids", multiple=True, help="Only this agent id (repeatable).")
@click.option(
    "--since",
    default="1h",
    show_default=True,
    help="Start: unix, ISO 8601, now, or an age (90m, 2h, 1d).",
)
@click.option("--until", "until_", default="now", show_default=True, help="End, same forms.")
@click.option("--summary", is_flag=True, help="Time in each status per agent instead of rows.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def status_log(
    settings: Settings,
    agent_ids: tuple[str, ...],
    since: str,
    until_: str,
    summary: bool,
    as_json: bool,
) -> None:
    """Read agent status history (reads a long window in hourly pieces, with progress)."""
    now = datetime.now(timezone.utc)
    try:
        start, stop = parse_time(since, now=now), parse_time(until_, now=now)
    except click.BadParameter as exc:
        fail(exc.message, EXIT_USAGE)
    if start > now:
        fail(f"--since ({start.isoformat()}) is in the future")
    if stop < start:
        fail(f"--until ({stop.isoformat()}) is before --since ({start.isoformat()})")

    async def main() -> list[StatusLogEntry]:
        async with connect(settings) as client:
            return await _read_window(client, agent_ids, start, stop)

    rows = run(settings, main)
    if summary:
        totals = time_in_status(rows, start, stop)
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
                    r.started_at.isoformat(),
                    r.agent_id,
                    r.status,
                    r.sub_status,
                    r.call_id or "",
                ]
                for r in rows
            ],
        )


async def _read_window(
    client: Any, agent_ids: Sequence[str], start: datetime, stop: datetime
) -> list[StatusLogEntry]:
    """Read [start, stop] an hour at a time; a progress bar when stderr is a terminal.

    What lies in the future (``--until`` tomorrow) is one read, not one per hour.
    """
    pieces: list[tuple[datetime, datetime]] = []
    cursor = start
    hourly_until = min(stop, datetime.now(timezone.utc))
    while cursor < stop:
        end = min(cursor + timedelta(hours=1), stop) if cursor < hourly_until else stop
        pieces.append((cursor, end))
        cursor = end
    if not pieces:
        pieces.append((start, stop))
    rows: dict[int, StatusLogEntry] = {}
    progress_console = OutputConsole(stderr=True)
    with Progress(
        console=progress_console, disable=not progress_console.is_terminal, transient=True
    ) as progress:
        task = progress.add_task("reading status_log", total=len(pieces))
        for low, high in pieces:
            for row in await client.status_log.read(
                agent=list(agent_ids) or None, tstart=low, tstop=high
            ):
                rows[row.log_id] = row  # the pieces share their edges: keep each row once
            progress.advance(task)
    return [rows[uid] for uid in sorted(rows)]

"""``contactnow report agents``: the agents' login sessions (``reporting.php`` agents);
``_report`` adds the command to its group."""

from __future__ import annotations

__all__ = ["report_agents"]

from collections.abc import Sequence
from datetime import datetime, timezone, tzinfo

import click

from .. import AgentSession
from .._models_reports import SESSION_ATTRIBUTES
from ._common import (
    Settings,
    agents_option,
    connect,
    emit_json,
    fail,
    print_table,
    run,
)
from ._report_window import echo_csv, since_option, until_option, window
from ._times import record_tz_option, shown_time, shown_window


@click.command("agents")
@agents_option()
@since_option
@until_option
@record_tz_option()
@click.option(
    "--overlapping",
    is_flag=True,
    help="Sessions that overlap the window too (default: those that logged in within it).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per session.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row, fields as sent.")
@click.pass_obj
def report_agents(
    settings: Settings,
    agent_ids: tuple[str, ...],
    since: str,
    until_: str,
    record_tz: tzinfo,
    overlapping: bool,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Agents' login sessions (reporting.php agents): login, logout, first and last activity.

    The vendor's reporting documents do not list this method: an account's API may
    refuse it (exit 4). Times in the table are in --record-tz.
    """
    if as_json and as_csv:
        fail("--json and --csv: pick one")
    start, stop = window(since, until_, record_tz)

    async def main() -> list[AgentSession]:
        async with connect(settings) as client:
            return await client.reports.agents(
                start=start,
                stop=stop,
                agent=list(agent_ids) or None,
                logged_in_only=not overlapping,
            )

    sessions = run(settings, main)
    if as_csv:  # an empty window: the header alone
        echo_csv(SESSION_ATTRIBUTES)
        for session in sessions:
            echo_csv(session.raw.get(name) for name in SESSION_ATTRIBUTES)
    elif as_json:
        for session in sessions:
            emit_json({name: getattr(session, name) for name in SESSION_ATTRIBUTES.values()})
    else:
        moments = ("login_ts", "logout_ts", "first_activity_ts", "last_activity_ts")
        print_table(
            ["agent", "agent name", "login", "logout", "first activity", "last activity"],
            [
                [s.agent_id, s.agent_name, *(_shown(getattr(s, m), record_tz) for m in moments)]
                for s in sessions
            ],
            none=_no_sessions(agent_ids, start, stop, record_tz, overlapping=overlapping),
        )


def _shown(moment: int | None, zone: tzinfo) -> str:
    """A session's moment in ``zone``; blank for none (a logout while still logged in)."""
    if moment is None:
        return ""
    return shown_time(datetime.fromtimestamp(moment, tz=timezone.utc), zone)


def _no_sessions(
    agent_ids: Sequence[str], start: datetime, stop: datetime, zone: tzinfo, *, overlapping: bool
) -> str:
    """What an empty table says: the sessions looked for, of which agents, in the window."""
    whose = f" for agent {', '.join(agent_ids)}" if agent_ids else ""
    what = f"no login sessions{whose} open" if overlapping else f"no logins{whose}"
    return f"{what} {shown_window(start, stop, zone)}"

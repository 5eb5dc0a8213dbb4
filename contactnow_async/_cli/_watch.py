"""``contactnow watch``: agent status changes as lines, or JSON lines."""

from __future__ import annotations

import sys
from typing import Any

import anyio
import click

from .. import AgentEvent, ContactNow
from ..events import to_json as event_to_json
from ..watch import HealthEvent
from ..watch._health import FAILED_POLL
from ..watch._watcher import WATCHER_STOPPED
from ._common import (
    MANY_REQUESTS_WIRE,
    FiniteFloatRange,
    Settings,
    agents_option,
    connect,
    run,
    since_log_id_option,
    unlogged,
)
from ._text import line_safe_json, printable


@click.command()
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per line (documented format)."
)
@click.option("--backfill", is_flag=True, help="Every transition, gap-free, from status_log.")
@since_log_id_option("Resume the status log after this log id (implies --backfill).")
@agents_option("agents")
@click.option(
    "--interval",
    type=FiniteFloatRange(min=0.05),
    default=2.0,
    show_default=True,
    help="Seconds between polls.",
)
@click.option("--include-offline", is_flag=True, help="Also list offline agents.")
@click.option(
    "--duration", type=FiniteFloatRange(min=0), default=None, help="Stop after this many seconds."
)
@click.pass_obj
def watch(
    settings: Settings,
    /,
    as_json: bool,
    agents: tuple[str, ...],
    duration: float | None,
    **options: Any,
) -> None:
    """Stream agent status changes (JSON lines with --json, for jq and friends).

    A failed poll, and polling's recovery, are one line each on stderr."""
    if options["since_log_id"] is not None:
        options["backfill"] = True
    wanted = frozenset(agents)

    async def main() -> None:
        async with connect(settings, transport=MANY_REQUESTS_WIRE) as client:
            if wanted:
                await _check_agents(client, wanted)
            with anyio.move_on_after(duration):  # None: no deadline; 0: stop at once
                async with client.watch_agents(include_health=True, **options) as stream:
                    async for event in stream:
                        if isinstance(event, HealthEvent):
                            click.echo(health_line(event), err=True)  # stdout stays events
                        elif not wanted or event.agent_id in wanted:
                            click.echo(json_event(event) if as_json else event_line(event))
                            sys.stdout.flush()

    # A failed poll: the health line says it; a refused password or log position: the
    # error line.
    with unlogged(settings, "contactnow_async.watch", FAILED_POLL, WATCHER_STOPPED):
        run(settings, main)


async def _check_agents(client: ContactNow, wanted: frozenset[str]) -> None:
    """Refuse an id no agent has (a typo) or a deleted agent's (``filter`` 999): either
    printed nothing, for ever, without a word. One request, however many ids: the one
    agent's record, or every agent's (what a poll of the live status reads anyway)."""
    if len(wanted) == 1:
        (agent_id,) = wanted
        agents = await client.agents.read(agent_id=agent_id)
    else:
        agents = await client.agents.read()
    known = {agent.agent_id: agent for agent in agents}
    for agent_id in sorted(wanted):
        agent = known.get(agent_id)
        if agent is None:
            raise ValueError(f"--agent {agent_id}: the account has no such agent")
        if agent.filter.strip() == _DELETED:
            raise ValueError(f"--agent {agent_id}: that agent is deleted (filter 999)")


#: An agent's ``filter`` once deleted (the vendor's own code leaves out ``!= 999``).
_DELETED = "999"


def json_event(event: AgentEvent) -> str:
    """The event in the documented JSON, as one line for any reader's idea of a line, and
    harmless on a terminal: a line separator or a bidi control in a name is escaped, as
    in every other command's ``--json`` (``from_json`` reads the same event back)."""
    return line_safe_json(event_to_json(event))


def health_line(event: HealthEvent) -> str:
    """A failed poll or polling's recovery, as one line for stderr."""
    health = event.health
    if health.healthy:
        return f"polling recovered after {health.failures} failed poll(s) in all"
    # The error's text may be the API's: escaped, as in an event's line.
    return printable(FAILED_POLL % (health.consecutive_failures, health.last_error))


def event_line(event: AgentEvent) -> str:
    """One plain line for an event (``watch`` without ``--json``; the demo's output when
    stdout is not a terminal).

    Names and statuses come from the API: a newline or a terminal escape in them is
    printed escaped (``\\n``, ``\\x1b``), so an event is always one harmless line.
    """
    agent = event.after or event.before
    name = agent.name if agent is not None and agent.name else event.agent_id
    before = event.before.status if event.before is not None else "-"
    after = event.after.status if event.after is not None else "-"
    code = (
        f" ({event.after.sub_status})" if event.after is not None and event.after.sub_status else ""
    )
    when = event.changed_at.strftime("%H:%M:%S")
    return printable(f"{when} {event.kind:<11} {name} [{event.agent_id}] {before} -> {after}{code}")

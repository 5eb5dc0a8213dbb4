"""``contactnow control``: move an agent (``agent.php``), one action a command.

Each action is a write, sent once (the library resends only what provably never reached
the server): a lost reply is an error saying so, and the agent's live status says what
happened (``contactnow watch --agent ID``). A move the agent's state does not allow
(``ready`` for an agent logged out) is the API's refusal, exit 4.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from typing import Any

import click

from .. import (
    ContactNow,
    HTTPStatusError,
    RateLimitError,
    ResponseFormatError,
    TransportError,
)
from ._common import EXIT_INTERRUPTED, EXIT_NETWORK, Settings, connect, fail, refuse_empty, run
from ._times import parse_time, record_tz_option

#: The actions that take only the agent: command name, library method, help.
_MOVES = (
    ("ready", "ready", "Make AGENT available (after wrap, or back from a break)."),
    ("pause", "pause", "Pause AGENT: no calls until unpause."),
    ("unpause", "unpause", "End AGENT's pause: available again."),
    ("hangup", "hangup", "Hang up AGENT's call; the agent goes on to wrap."),
    ("hangup-ready", "hangup_ready", "Hang up AGENT's call and make it available, no wrap."),
    ("logout", "logout", "Log AGENT out (offline)."),
    ("park", "park", "Park (hold) AGENT's call."),
    ("unpark", "unpark", "Take AGENT's parked call back."),
    ("unpark-tpt", "unpark_tpt", "Take AGENT's call back from a third-party transfer."),
)

#: A callback time: unix seconds, or a date and a time (its offset, if any, after it).
_UNIX = re.compile(r"\d{9,11}(\.\d+)?")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


@click.group()
def control() -> None:
    """Move agents: ready, pause, wrap, hang up, log out, dial, disposition (agent.php)."""


def _act(
    settings: Settings,
    action: Callable[[ContactNow], Awaitable[object]],
    done: str,
    *,
    agent: str | None = None,
    **options: Any,
) -> None:
    """Run ``action`` on a client, then print ``done``. A reply lost after the request
    reached the server, or Ctrl-C while it was on its way, is one line saying the action
    may have been done, and how to check (the live status of ``agent``, if it names one)."""
    check = (
        f"check the agent's status (contactnow watch --agent {agent})"
        if agent is not None
        else "check"
    )
    maybe_done = f"it may have been done: {check} before sending it again"
    sending = False

    async def main() -> None:
        nonlocal sending
        async with connect(settings, **options) as client:
            sending = True
            try:
                await action(client)
            except (TransportError, HTTPStatusError, ResponseFormatError) as exc:
                # The rule the library resends by: a 429 refused it, and a TransportError
                # says whether the request may have gone out.
                if isinstance(exc, TransportError):
                    reached = exc.sent
                else:
                    reached = not isinstance(exc, RateLimitError)
                if not reached:
                    raise
                fail(f"{done}: {exc}: {maybe_done}", EXIT_NETWORK)
            sending = False

    try:
        run(settings, main)
    except SystemExit as exc:
        if exc.code != EXIT_INTERRUPTED or not sending:
            raise
        fail(f"{done}: interrupted as it was sent: {maybe_done}", EXIT_INTERRUPTED)
    click.echo(done)


def _move_command(name: str, method: str, summary: str) -> click.Command:
    @click.argument("agent", callback=refuse_empty)
    @click.pass_obj
    def move(settings: Settings, agent: str) -> None:
        _act(
            settings,
            lambda client: getattr(client.control, method)(agent),
            f"{name}: agent {agent}",
            agent=agent,
        )

    move.__doc__ = summary
    return control.command(name)(move)


for _name, _method, _summary in _MOVES:
    _move_command(_name, _method, _summary)


@control.command("wrap")
@click.argument("agent", callback=refuse_empty)
@click.option("--subcode", callback=refuse_empty, help="The wrap code to give the call.")
@click.pass_obj
def control_wrap(settings: Settings, agent: str, subcode: str | None) -> None:
    """End AGENT's call and put it in wrap (with a wrap code, if given)."""
    note = f" ({subcode})" if subcode else ""
    _act(
        settings,
        lambda client: client.control.wrap(agent, subcode),
        f"wrap: agent {agent}{note}",
        agent=agent,
    )


@control.command("disposition")
@click.argument("call", callback=refuse_empty)
@click.argument("outcome", callback=refuse_empty)
@click.option("--agent", callback=refuse_empty, help="The agent the call is with.")
@click.pass_obj
def control_disposition(settings: Settings, call: str, outcome: str, agent: str | None) -> None:
    """Give CALL the outcome code OUTCOME (its record's too, for a dialled call)."""
    _act(
        settings,
        lambda client: client.control.disposition(call, outcome, agent=agent),
        f"disposition: call {call} outcome {outcome}",
        agent=agent,
    )


@control.command("callback")
@click.argument("call", callback=refuse_empty)
@click.argument("when", callback=refuse_empty)
@click.option("--agent", callback=refuse_empty, help="Make it this agent's own callback.")
@click.option("--notes", help="Notes for the agent who calls back.")
@record_tz_option(
    "The centre's time zone, e.g. Europe/London or +01:00: a WHEN without an offset is read in it, "
    "and the callback is sent in it (default: UTC)."
)
@click.pass_obj
def control_callback(
    settings: Settings,
    call: str,
    when: str,
    agent: str | None,
    notes: str | None,
    record_tz: tzinfo,
) -> None:
    """Call the record of dialled CALL back at WHEN.

    WHEN is unix seconds, or a date and time (2026-12-07 10:30) in the centre's zone
    (--record-tz, default UTC) unless it gives its own offset (2026-12-07T10:30:00Z).
    """
    moment = _callback_time(when, record_tz)
    _act(
        settings,
        lambda client: client.control.callback(call, moment, agent=agent, notes=notes),
        f"callback: call {call} at {when.strip()}",
        agent=agent,
        record_tz=record_tz,
    )


def _callback_time(text: str, zone: tzinfo) -> datetime | float:
    """WHEN as the library takes it: unix seconds, or an aware datetime (a date and time
    without an offset is in ``zone``, as every TIME of the command is); anything else (a
    bare day, "tomorrow", an age) is refused here, naming the forms."""
    text = text.strip()
    if _UNIX.fullmatch(text):
        return float(text)
    if _DATE_TIME.fullmatch(text):
        with contextlib.suppress(click.BadParameter):  # 2026-02-30 10:00: named below
            return parse_time(text, zone=zone)  # every TIME's rule for the zone
    raise click.BadParameter(
        f"{text!r} is not a time to call back: use unix seconds, or a date and time "
        "(2026-12-07 10:30, 2026-12-07T10:30:00Z) in the centre's zone (--record-tz) "
        "unless it gives its own offset",
        param_hint="'WHEN'",
    )


@control.command("agent-dial")
@click.argument("agent", required=False, callback=refuse_empty)
@click.option("--phone", callback=refuse_empty, help="Ring this phone (instead of AGENT's).")
@click.pass_obj
def control_agent_dial(settings: Settings, agent: str | None, phone: str | None) -> None:
    """Log AGENT in by ringing its phone (or ring --phone)."""
    if agent is None and phone is None:
        raise click.UsageError("give the AGENT, or --phone to ring")
    if agent is None:
        who = f"phone {phone}"
    else:
        who = f"agent {agent}" if phone is None else f"agent {agent} on {phone}"
    _act(
        settings,
        lambda client: client.control.agent_dial(agent, phone=phone),
        f"agent-dial: {who}",
        agent=agent,
    )


@control.command("manual-dial")
@click.argument("agent", callback=refuse_empty)
@click.argument("number", callback=refuse_empty)
@click.option("--queue", callback=refuse_empty, help="The outbound queue to dial through.")
@click.pass_obj
def control_manual_dial(settings: Settings, agent: str, number: str, queue: str | None) -> None:
    """Have AGENT dial NUMBER by hand."""
    _act(
        settings,
        lambda client: client.control.manual_dial(agent, number, queue=queue),
        f"manual-dial: agent {agent} to {number}",
        agent=agent,
    )

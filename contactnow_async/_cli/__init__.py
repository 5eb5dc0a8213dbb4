"""The ``contactnow`` command: a live demo, and the everyday operations.

Exit codes: 0 ok, 1 unexpected error, 2 usage (bad flag, missing credentials,
malformed time), 3 authentication refused, 4 API error (the API said no: an
unknown agent, a refused record), 5 network (unreachable, timeout, HTTP error,
a reply that is not the API's), 130 interrupted, 141 stdout closed by its reader
(``| head``: the output stops there, quietly).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import click
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from .. import Agent, QueueAssignment, StatusLogEntry, __version__, events
from .._models import AGENT_FIELDS, AGENT_WIRE_NAMES, agent_attribute
from ..analytics import time_in_status
from ._common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NETWORK,
    EXIT_USAGE,
    OutputConsole,
    Settings,
    broken_pipe_guard,
    connect,
    fail,
    parse_time,
    printable,
    run,
    tolerate_unencodable_output,
)
from ._demo import event_line, run_demo

console = OutputConsole(highlight=False)
#: Agent attributes, named as on the Agent model (the wire's agentid is agent_id).
AGENT_FIELDS_PUBLIC = tuple(agent_attribute(wire) for wire in AGENT_FIELDS)


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(*columns, show_edge=False, pad_edge=False)
    for row in rows:
        # Text, not str: a name such as "[/]" or "[red]x" is data, not rich markup.
        table.add_row(*(Text(printable(value)) for value in row))
    console.print(table)


class _Group(click.Group):
    """The top-level group: a closed stdout (``| head``) ends any command quietly.

    Here rather than around ``cli.main``: click turns a broken pipe into exit 1 itself.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        with broken_pipe_guard():  # --help, --version
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with broken_pipe_guard():
            return super().invoke(ctx)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="contactnow")
@click.option("--username", help="API username (default: $CONTACTNOW_USERNAME).")
@click.option(
    "--password",
    help="API password (default: $CONTACTNOW_PASSWORD; prefer the variable: flags show in ps).",
)
@click.option(
    "--region",
    type=click.Choice(["eu", "us"]),
    help="API region (default: $CONTACTNOW_REGION or eu).",
)
@click.option(
    "--base-url", help="API base URL, overrides --region (default: $CONTACTNOW_BASE_URL)."
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="Keep the token in this file between runs.",
)
@click.option(
    "--format",
    "wire_format",
    type=click.Choice(["json", "xml"]),
    default="json",
    show_default=True,
    help="Wire format to talk to the API.",
)
@click.option(
    "--simulate",
    is_flag=True,
    help="Talk to an embedded simulator on 127.0.0.1 instead of an account.",
)
@click.option(
    "--sim-agents",
    type=click.IntRange(0, 50_000),
    default=25,
    show_default=True,
    help="Agents in the --simulate centre.",
)
@click.option(
    "--sim-speed",
    type=click.FloatRange(min=0.01),
    default=10.0,
    show_default=True,
    help="Simulated seconds per second with --simulate.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and the (redacted) debug log.")
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Talk to the 8x8 ContactNow API v2, or watch a simulated contact centre.

    Start with `contactnow demo`. Credentials come from CONTACTNOW_USERNAME,
    CONTACTNOW_PASSWORD and CONTACTNOW_REGION (eu, us) or CONTACTNOW_BASE_URL.
    """
    ctx.obj = Settings(**options)


@cli.command()
@click.option("--agents", type=click.IntRange(1, 50_000), default=25, show_default=True)
@click.option(
    "--speed",
    type=click.FloatRange(min=0.01),
    default=10.0,
    show_default=True,
    help="Simulated seconds per second.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between polls.",
)
@click.option("--backfill", is_flag=True, help="Gap-free events from status_log.")
@click.option(
    "--duration", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds."
)
@click.option(
    "--faults",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Fail this share of requests, to show resilience.",
)
@click.pass_obj
def demo(settings: Settings, /, **options: Any) -> None:
    """A live wallboard of a simulated contact centre (no account needed)."""
    run(settings, lambda: run_demo(console=console, **options))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65_535), default=8080, show_default=True)
@click.option("--agents", type=click.IntRange(0, 50_000), default=50, show_default=True)
@click.option("--username", default="demo", show_default=True)
@click.option("--password", default="demo", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--speed", type=click.FloatRange(min=0.01), default=1.0, show_default=True)
def simulate(**options: Any) -> None:
    """Serve the ContactNow simulator (for your own tests and wallboards)."""
    from ..simulator import run as run_simulator

    host, port = options.pop("host"), options.pop("port")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_simulator(host, port, **options)
    except BrokenPipeError:
        raise  # the banner's reader went away: the group's guard ends quietly
    except OSError as exc:  # the port is taken, or the host is not this machine's
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}", EXIT_NETWORK)


@cli.command()
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per line (documented format)."
)
@click.option("--backfill", is_flag=True, help="Every transition, gap-free, from status_log.")
@click.option(
    "--since-log-id",
    "--since-uid",
    "since_log_id",
    type=click.IntRange(min=0),
    default=None,
    help="Resume the status log after this log id (implies --backfill).",
)
@click.option("--agent", "agents", multiple=True, help="Only this agent id (repeatable).")
@click.option("--interval", type=click.FloatRange(min=0.05), default=2.0, show_default=True)
@click.option("--include-offline", is_flag=True, help="Also list offline agents.")
@click.option(
    "--duration", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds."
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
    """Stream agent status changes (JSON lines with --json, for jq and friends)."""
    if options["since_log_id"] is not None:
        options["backfill"] = True
    wanted = frozenset(agents)

    async def main() -> None:
        async with connect(settings) as client:
            with anyio.move_on_after(duration) if duration else _forever():
                async with client.watch_agents(**options) as stream:
                    async for event in stream:
                        if wanted and event.agent_id not in wanted:
                            continue
                        click.echo(events.to_json(event) if as_json else event_line(event))
                        sys.stdout.flush()

    run(settings, main)


class _forever:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@cli.command()
@click.option(
    "--redis", "redis_url", required=True, help="Redis URL, e.g. redis://127.0.0.1:6379/0."
)
@click.option(
    "--stream",
    default="contactnow:agents",
    show_default=True,
    help="The Redis Stream to append to.",
)
@click.option("--backfill", is_flag=True, help="Gap-free: status_log rows, with a cursor in Redis.")
@click.option(
    "--since-log-id",
    "--since-uid",
    "since_log_id",
    type=click.IntRange(min=0),
    default=None,
    help="Start after this status_log id when Redis has no cursor.",
)
@click.option(
    "--lease-ttl",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Failover time: seconds a dead leader keeps the lease.",
)
@click.option(
    "--maxlen",
    type=click.IntRange(min=0),
    default=1_000_000,
    show_default=True,
    help="Approximate stream length cap (0: unbounded).",
)
@click.option("--interval", type=click.FloatRange(min=0.05), default=2.0, show_default=True)
@click.pass_obj
def relay(settings: Settings, /, redis_url: str, stream: str, maxlen: int, **options: Any) -> None:
    """Relay agent events into a Redis Stream; run on several hosts, one leads (asyncio only)."""
    try:
        from ..redis import run_relay
    except ImportError:
        fail("the relay needs the 'redis' extra: pip install 'contactnow-async[redis]'")

    async def main() -> None:
        async with connect(settings) as client:
            await run_relay(
                redis_url=redis_url, stream=stream, client=client, maxlen=maxlen or None, **options
            )

    run(settings, main)


# -- token ---------------------------------------------------------------------


@cli.group()
def token() -> None:
    """Get or check the API token."""


@token.command("get")
@click.option(
    "--show", is_flag=True, help="Print the whole token (it grants API access: keep it safe)."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def token_get(settings: Settings, show: bool, as_json: bool) -> None:
    """Fetch (or reuse) a token and print when it expires."""

    async def main() -> None:
        async with connect(settings) as client:
            got = await client.tokens.get()
        value = got.value if show else f"{got.value[:4]}…({len(got.value)} chars, --show to print)"
        if as_json:
            _emit_json({"token": value, "expires_at": got.expires_at.isoformat()})
        else:
            click.echo(f"token {value}\nexpires {got.expires_at.isoformat()}")

    run(settings, main)


@token.command("validate")
@click.pass_obj
def token_validate(settings: Settings) -> None:
    """Ask the API whether the token is valid."""

    async def main() -> None:
        async with connect(settings) as client:
            checked = await client.tokens.validate()
        click.echo(f"valid until {checked.expires_at.isoformat()}")

    run(settings, main)


# -- agents ----------------------------------------------------------------------


@cli.group()
def agents() -> None:
    """List, create and update agent records."""


_AGENT_COLUMNS = ("agent_id", "name", "username", "phone", "default_status", "auth_level")


@agents.command("list")
@click.option("--name", default=None, help="Only agents with exactly this name.")
@click.option("--username", "agent_username", default=None, help="Only agents with this username.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def agents_list(
    settings: Settings, name: str | None, agent_username: str | None, as_json: bool
) -> None:
    """List agent records."""

    async def main() -> list[Agent]:
        async with connect(settings) as client:
            return await client.agents.read(name=name, username=agent_username)

    found = run(settings, main)
    if as_json:
        for agent in found:
            _emit_json(
                {
                    field: getattr(agent, field)
                    for field in AGENT_FIELDS_PUBLIC
                    if field not in ("password", "pin")
                }
            )
    else:
        _table(_AGENT_COLUMNS, [[getattr(a, c) for c in _AGENT_COLUMNS] for a in found])


@agents.command("create")
@click.option("--name", required=True)
@click.option("--username", "agent_username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the agent's password from stdin.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def agents_create(
    settings: Settings, name: str, agent_username: str, password_stdin: bool, as_json: bool
) -> None:
    """Create an agent (the password is prompted for, never echoed).

    Not idempotent: running it twice creates two agents.
    """
    if password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = click.prompt("Agent password", hide_input=True, confirmation_prompt=True)
    if not secret:
        fail("the agent password is empty")
    record = {"name": name, "username": agent_username, "password": secret}

    async def main() -> Any:
        async with connect(settings) as client:
            return await client.agents.create([record])

    result = run(settings, main)
    if as_json:
        _emit_json({"agent_id": result.key, "total": result.total})
    else:
        click.echo(f"created agent {result.key}")


@agents.command(
    "update", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
@click.argument("agent_id")
@click.pass_context
def agents_update(ctx: click.Context, agent_id: str) -> None:
    """Update fields of agent AGENT_ID: `agents update 550423 --name "John Dow"`."""
    settings: Settings = ctx.obj
    fields = _field_options(ctx.args)
    if not fields:
        fail("nothing to update: pass fields, e.g. --name 'John Dow' --phone 0123")

    async def main() -> Any:
        async with connect(settings) as client:
            wire = {AGENT_WIRE_NAMES.get(key, key): value for key, value in fields.items()}
            return await client.agents.update([{"agentid": agent_id, **wire}])

    result = run(settings, main)
    click.echo(f"updated agent {agent_id} ({result.total} record)")


def _field_options(args: Sequence[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    items = list(args)
    while items:
        flag = items.pop(0)
        if not flag.startswith("--"):
            fail(f"unexpected argument {flag!r}: fields are given as --field value")
        key, equals, inline = flag[2:].partition("=")
        key = agent_attribute(key.replace("-", "_"))  # the wire name is accepted too
        if key not in AGENT_FIELDS_PUBLIC or key == "agent_id":
            known = ", ".join(f for f in AGENT_FIELDS_PUBLIC if f != "agent_id")
            fail(f"unknown agent field --{key}; fields: {known}")
        if not equals:  # --phone= is an empty value, not "take the next argument"
            if not items:
                fail(f"--{key} needs a value")
            inline = items.pop(0)
        fields[key] = inline
    return fields


# -- status log --------------------------------------------------------------------


@cli.command("status-log")
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
            _emit_json(totals)
            return
        statuses = sorted({status for spent in totals.values() for status in spent})
        _table(
            ["agent", *statuses],
            [
                [agent, *(f"{spent.get(s, 0):.0f}s" for s in statuses)]
                for agent, spent in sorted(totals.items())
            ],
        )
        return
    if as_json:
        for row in rows:
            _emit_json(
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
        _table(
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


# -- priorities --------------------------------------------------------------------


@cli.group()
def priorities() -> None:
    """List and set agent-to-queue assignments."""


@priorities.command("list")
@click.option("--agent", default=None)
@click.option("--queue", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def priorities_list(
    settings: Settings, agent: str | None, queue: str | None, as_json: bool
) -> None:
    """List queue assignments of an agent, a queue, or all."""

    async def main() -> list[QueueAssignment]:
        async with connect(settings) as client:
            return await client.priorities.read(agent=agent, queue=queue)

    found = run(settings, main)
    if as_json:
        for item in found:
            _emit_json({"agent_id": item.agent_id, "queue_id": item.queue_id, "level": item.level})
    else:
        _table(["agent", "queue", "level"], [[a.agent_id, a.queue_id, a.level] for a in found])


@priorities.command("set")
@click.argument("agent")
@click.argument("queue")
@click.argument("level", type=click.IntRange(0, 1_000_000))
@click.pass_obj
def priorities_set(settings: Settings, agent: str, queue: str, level: int) -> None:
    """Assign AGENT to QUEUE at LEVEL (creates it, or updates an existing one)."""
    assignment = QueueAssignment(agent_id=agent, queue_id=queue, level=level)

    async def main() -> str:
        async with connect(settings) as client:
            created = await client.priorities.create([assignment])
            if created.total:
                return "assigned"
            await client.priorities.update([assignment])
            return "updated"

    click.echo(f"{run(settings, main)} agent {agent} to queue {queue} at level {level}")


def main() -> None:
    """Entry point of the ``contactnow`` console script.

    click's own errors (a bad flag, a missing argument) become one
    ``contactnow: error:`` line too, with the usage exit code. A closed stdout
    (``contactnow ... | head``) ends the command quietly with exit code 141.
    """
    tolerate_unencodable_output()
    with broken_pipe_guard():
        code = _main()
        sys.stdout.flush()  # here, where a closed pipe is still caught
    raise SystemExit(code)


def _group_options() -> dict[str, bool]:
    """The group's own options (``--simulate``, ...) and whether each is a flag, named in
    the error when given after a command."""
    return {
        name: isinstance(param, click.Option) and param.is_flag
        for param in cli.params
        for name in param.opts
    }


def _main() -> int:
    try:
        code = cli.main(prog_name="contactnow", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # `contactnow` alone: the help, as click prints it
        return exc.exit_code
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "contactnow"
        message = exc.format_message()
        group_options = _group_options()
        if isinstance(exc, click.NoSuchOption) and exc.option_name in group_options:
            # `contactnow agents list --simulate`: say where the option goes.
            option = exc.option_name
            given = option if group_options[option] else f"{option} VALUE"
            command = where.partition(" ")[2]
            message = (
                f"no such option {option!r} for '{where}': contactnow's own options go "
                f"before the command: contactnow {given} {command} ..."
            )
        fail(f"{message} (see '{where} --help')", EXIT_USAGE)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except click.Abort as exc:
        # click.prompt raises Abort "from None": the cause is in __context__.
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            fail("interrupted", EXIT_INTERRUPTED)
        if isinstance(cause, EOFError):
            fail("no input: stdin ended at a prompt (scripts: --password-stdin)", EXIT_USAGE)
        fail("aborted", EXIT_ERROR)
    return code if isinstance(code, int) else 0


__all__ = ["cli", "main"]

"""``contactnow report``: grouped call figures (``calls``) and call detail records (``cdr``);
the agents' login sessions (``agents``) are in ``_report_agents``, added to the group here."""

from __future__ import annotations

__all__ = ["report"]

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone, tzinfo
from typing import Any, TypeVar

import attrs
import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from .. import CdrRow, ContactNow, ReportRow
from .._models_reports import CDR_ATTRIBUTES
from .._values import MAX_UNIX_TIME
from ..resources.reports import CDR_FIELDS
from ._common import (
    EXIT_BROKEN_PIPE,
    EXIT_USAGE,
    OutputConsole,
    Settings,
    connect,
    console,
    emit_json,
    fail,
    print_table,
    run,
)
from ._report_agents import report_agents
from ._report_window import echo_csv, since_option, until_option, window
from ._times import record_tz_option, shown_time, shown_window

Command = TypeVar("Command", bound=Callable[..., Any])

#: The columns of ``report cdr`` as a table without --fields (all of them with --csv or --json).
_CDR_TABLE = ("callid", "tm_init", "qid", "aid", "cres", "sec_que", "sec_dur", "ocid")


def _names(values: Sequence[str]) -> list[str]:
    """The names of ``--fields a,b --fields c``, each once (a CSV header naming one twice
    is one a reader keys by name cannot read)."""
    return list(
        dict.fromkeys(name.strip() for value in values for name in value.split(",") if name.strip())
    )


def _some_fields(ctx: click.Context, param: click.Parameter, value: Sequence[str]) -> Any:
    """An option's callback: a ``--fields`` or ``--group-by`` given that names no field
    (``""``, ``" , "``: an unset shell variable) is refused, not read as the default."""
    if value and not _names(value):
        raise click.BadParameter("it names no field: give a comma list (qid,nc_all)", ctx, param)
    return value


#: The names of the reports methods' own arguments, which a --filter cannot be, and
#: where each is set instead.
_SETTINGS = {
    "start": "the window starts at --since",
    "stop": "the window ends at --until",
    "range": "the window is --since to --until",
    "fields": "the fields are --fields",
    "group_by": "the groups are --group-by",
    "groupby": "the groups are --group-by",
    "page_size": "the page size is --page-size",
    "limit": "the page size is --page-size",
    "strict": "--no-strict sends names the documentation does not list",
    "self": "give one the API documents",
}


def _filters(items: Sequence[str], *, paged: bool) -> dict[str, str | int | list[str]]:
    """``--filter NAME=VALUE`` as the library's keywords: a comma list (``agent=1234,5678``)
    goes as a list, which the library sends as the API's comma list (it refuses a string
    holding a comma, lest an id be split). ``paged``: the command has ``--page-size``."""
    found: dict[str, str | int | list[str]] = {}
    for item in items:
        name, equals, value = (part.strip() for part in item.partition("="))
        values = [one.strip() for one in value.split(",")]
        if not equals or not name or not all(values):
            fail(f"--filter {item!r}: give NAME=VALUE (queue=1007, agent=1234,5678)", EXIT_USAGE)
        if name in _SETTINGS and (paged or name not in ("page_size", "limit")):
            fail(f"--filter {name}: not a filter of the API's; {_SETTINGS[name]}", EXIT_USAGE)
        if name in found:  # the last one won, silently
            given = found[name]
            listed = ",".join(given) if isinstance(given, list) else str(given)
            fail(
                f"--filter {name} is given twice: give one, its values as a comma list "
                f"({name}={listed},{value})",
                EXIT_USAGE,
            )
        if name == "cutoff":  # seconds, checked as a number by the library
            try:
                found[name] = int(value)
            except ValueError:
                fail(f"--filter cutoff={value}: give whole seconds", EXIT_USAGE)
        else:
            found[name] = values if len(values) > 1 else values[0]
    return found


def _filter(names: str) -> Callable[[Command], Command]:
    """``--filter NAME=VALUE``, its help naming the filters the method documents."""
    return click.option(
        "--filter",
        "filter_items",
        multiple=True,
        metavar="NAME=VALUE",
        help=f"An API filter: {names} (repeatable; VALUE may be a comma list).",
    )


_strict = click.option(
    "--no-strict", "loose", is_flag=True, help="Send names the documentation does not list."
)


@click.group()
def report() -> None:
    """Reports: call figures (calls), call detail records (cdr), login sessions (agents)."""


report.add_command(report_agents)


@report.command("calls")
@click.option(
    "--fields",
    "fields",
    multiple=True,
    required=True,
    callback=_some_fields,
    help="Comma list of fields.",
)
@click.option(
    "--group-by",
    "group_by",
    multiple=True,
    required=True,
    callback=_some_fields,
    help="Comma list.",
)
@since_option
@until_option
@record_tz_option()
@click.option("--cutoff", type=click.IntRange(min=0), help="Service-level cutoff in seconds.")
@_filter("campaign, queue, qtype, ctype, agent, dataset, outcome, ddi, cli, urn, team")
@_strict
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.pass_obj
def report_calls(
    settings: Settings,
    fields: tuple[str, ...],
    group_by: tuple[str, ...],
    since: str,
    until_: str,
    record_tz: tzinfo,
    cutoff: int | None,
    filter_items: tuple[str, ...],
    loose: bool,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Grouped call figures (reporting.php calls): --fields qid,nc_all,nc_ans --group-by qid."""
    if as_json and as_csv:
        fail("--json and --csv: pick one")
    start, stop = window(since, until_, record_tz)
    filters = _filters(filter_items, paged=False)
    if "cutoff" in filters:  # calls() takes it as an argument: Python's own error said so
        fail("report calls takes the cutoff as --cutoff SECONDS, not --filter", EXIT_USAGE)

    async def main() -> list[ReportRow]:
        async with connect(settings) as client:
            try:
                return await client.reports.calls(
                    _names(fields),
                    start=start,
                    stop=stop,
                    group_by=_names(group_by),
                    cutoff=cutoff,
                    strict=not loose,
                    **filters,
                )
            except TypeError as exc:  # a filter the documents do not list
                fail(str(exc), EXIT_USAGE)

    rows = run(settings, main)
    columns = list(dict.fromkeys(name for row in rows for name in row))
    if not rows:  # no call in the window: the header is what was asked for, as sent
        columns = list(dict.fromkeys([*_names(fields), *_names(group_by)]))
    if as_json:
        for row in rows:
            emit_json(dict(row))
    elif as_csv:
        echo_csv(columns)
        for row in rows:
            echo_csv(row.get(name) for name in columns)
    else:
        print_table(
            columns,
            [[_shown(row.get(name)) for name in columns] for row in rows],
            none=_no_calls(start, stop, record_tz, filter_items),
        )


def _no_calls(start: datetime, stop: datetime, zone: tzinfo, filter_items: Sequence[str]) -> str:
    """What an empty table of calls says: the window, and the filters given."""
    given = f" with {', '.join(filter_items)}" if filter_items else ""
    return f"no calls {shown_window(start, stop, zone)}{given}"


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return "" if value is None else str(value)


def _cdr_cell(value: Any, name: str, zone: tzinfo) -> str:
    """A CDR field for the table: a time (``tm_*``, unix seconds) in ``zone``, as the
    status log's and the sessions' tables show theirs; 0 or empty (not answered) blank."""
    if name.startswith("tm_") and isinstance(value, (int, str)) and str(value).isdigit():
        seconds = int(value)
        if not seconds:
            return ""
        if seconds <= MAX_UNIX_TIME:
            return shown_time(datetime.fromtimestamp(seconds, timezone.utc), zone)
    return _shown(value)


@report.command("cdr")
@click.option(
    "--fields",
    "fields",
    multiple=True,
    callback=_some_fields,
    help="Comma list (default: every field).",
)
@since_option
@until_option
@record_tz_option()
@_filter(
    "campaign, queue, qtype, ctype, agent, dataset, outcome, cutoff, ddi, cli, urn, callid, sort"
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 100_000),
    default=1000,
    show_default=True,
    help="Calls asked for in each request.",
)
@_strict
@click.option("--json", "as_json", is_flag=True, help="One JSON object per call.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row, fields as sent.")
@click.pass_obj
def report_cdr(
    settings: Settings,
    fields: tuple[str, ...],
    since: str,
    until_: str,
    record_tz: tzinfo,
    filter_items: tuple[str, ...],
    page_size: int,
    loose: bool,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Call detail records (reporting.php cdr), read a page at a time with progress on a
    terminal; --csv and --json print each call as it is read."""
    if as_json and as_csv:
        fail("--json and --csv: pick one")
    start, stop = window(since, until_, record_tz)
    filters = _filters(filter_items, paged=True)
    names = _names(fields) or list(CDR_FIELDS)
    if "callid" not in names:
        names.insert(0, "callid")  # the API is asked for it anyway: a row is named by it

    reached = _CdrReached()

    async def main() -> list[CdrRow]:
        async with connect(settings) as client:
            return await _read_cdr(
                client, names, start, stop, page_size, filters, reached, loose=loose,
                as_json=as_json, as_csv=as_csv,
            )  # fmt: skip

    try:
        rows = run(settings, main)
    except SystemExit as exc:  # an error line said why: say how far the read got too
        if exc.code and exc.code != EXIT_BROKEN_PIPE and reached.calls:
            of = "" if reached.total is None else f" of {reached.total}"
            done = "printed" if as_json or as_csv else "read"
            nothing = "" if as_json or as_csv else "; nothing was printed"
            click.echo(
                f"report cdr: {reached.calls}{of} calls {done} before it stopped{nothing}",
                err=True,
            )
        raise
    if not (as_json or as_csv):
        columns = names if fields else list(_CDR_TABLE)  # what was asked for, or a digest
        print_table(
            columns,
            [[_cdr_cell(row.raw.get(name), name, record_tz) for name in columns] for row in rows],
            none=_no_calls(start, stop, record_tz, filter_items),
        )


async def _read_cdr(
    client: ContactNow,
    names: list[str],
    start: datetime,
    stop: datetime,
    page_size: int,
    filters: Mapping[str, str | int | list[str]],
    reached: _CdrReached,
    *,
    loose: bool,
    as_json: bool,
    as_csv: bool,
) -> list[CdrRow]:
    """Print each row as it comes (--json, --csv) or keep them for a table; ``reached``
    follows how far the read got."""
    kept: list[CdrRow] = []
    progress_console = OutputConsole(stderr=True)
    try:
        pages = client.reports.cdr(
            names, start=start, stop=stop, page_size=page_size, strict=not loose, **filters
        )
    except TypeError as exc:  # a filter the documents do not list
        fail(str(exc), EXIT_USAGE)
    header_due = as_csv  # once the API has answered: not above an error, nor twice
    with Progress(
        TextColumn("reading the CDR"),
        BarColumn(),
        MofNCompleteColumn(),
        console=progress_console,
        # Rows printed to the same screen as they come would be mixed with the bar: a
        # terminal sees them come, which is progress enough.
        disable=not progress_console.is_terminal or ((as_json or as_csv) and console.is_terminal),
        transient=True,
    ) as progress:
        task = progress.add_task("cdr", total=None)
        async for row in pages:
            if header_due:
                echo_csv(names)
                header_due = False
            if as_csv:
                echo_csv(row.raw.get(name) for name in names)
            elif as_json:
                emit_json(
                    {
                        CDR_ATTRIBUTES.get(name, name): _json_value(
                            getattr(row, CDR_ATTRIBUTES[name])
                            if name in CDR_ATTRIBUTES
                            else row.raw.get(name)
                        )
                        for name in names
                    }
                )
            else:
                kept.append(row)
            reached.calls, reached.total = reached.calls + 1, getattr(pages, "total", None)
            progress.update(task, advance=1, total=reached.total)
    if header_due:  # no call in the window: the header alone, an empty CSV
        echo_csv(names)
    return kept


@attrs.define
class _CdrReached:
    """How far a CDR read got: the calls read, of the window's ``total`` (None: unsaid)."""

    calls: int = 0
    total: int | None = None


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return str(value) if value is not None and not isinstance(value, (int, float, str)) else value

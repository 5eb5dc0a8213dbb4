"""``contactnow records``: read records with filters, create them from a CSV or JSON-lines file."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import tzinfo
from typing import Any

import anyio
import anyio.abc
import attrs
import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from .. import (
    AuthenticationError,
    ContactNow,
    ContactNowError,
    HTTPStatusError,
    RateLimitError,
    Record,
    ResponseFormatError,
    TransportError,
    WriteError,
)
from ..resources.records import lacks
from ._common import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_INTERRUPTED,
    MANY_REQUESTS_WIRE,
    Settings,
    connect,
    emit_json,
    fail,
    print_table,
    refuse_empty,
    run,
)
from ._text import printable
from ._times import option_day_or_time, record_tz_option, refuse_reversed

#: What ``records read --json`` prints: the model's attributes but ``raw``.
_LISTED = tuple(field.name for field in attrs.fields(Record) if field.name != "raw")


@click.group()
def records() -> None:
    """Read and create the records (leads) of a campaign."""


@records.command("read")
@click.option("--table", callback=refuse_empty, help="The campaign table.")
@click.option("--dataset", callback=refuse_empty, help="A dataset id.")
@click.option(
    "--id", "ids", multiple=True, callback=refuse_empty, help="A record id (repeat for several)."
)
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    callback=refuse_empty,
    help="An outcome code (repeatable).",
)
@click.option("--agent", callback=refuse_empty, help="Records assigned to this agent.")
@click.option(
    "--ddi", callback=refuse_empty, help="Records with this phone number in any phone field."
)
@click.option(
    "--search",
    "searches",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Values containing VALUE (repeatable; FIELD 'phone' searches the three phones).",
)
@click.option("--exact", is_flag=True, help="--search matches whole values.")
@click.option(
    "--mode",
    type=click.Choice(["active", "live", "callbacks", "live-callbacks", "unexpired"]),
    help="Where the records stand on the dialler.",
)
@click.option(
    "--timetype",
    type=click.Choice(["callback", "processdate"]),
    help="Pick records by their callback or process date, with --since/--until.",
)
@click.option("--since", callback=refuse_empty, help="From this TIME (with --timetype).")
@click.option("--until", callback=refuse_empty, help="Up to this TIME (with --timetype).")
@record_tz_option(
    "The zone of the centre's record dates, e.g. Europe/London or +01:00 (default: UTC): a day in "
    "--since/--until is that whole day there, a time without an offset that time there."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record.")
@click.pass_obj
def records_read(
    settings: Settings,
    table: str | None,
    dataset: str | None,
    ids: tuple[str, ...],
    outcomes: tuple[str, ...],
    agent: str | None,
    ddi: str | None,
    searches: tuple[str, ...],
    exact: bool,
    mode: Any,
    timetype: Any,
    since: str | None,
    until: str | None,
    record_tz: tzinfo,
    as_json: bool,
) -> None:
    """Read records of a campaign: give --table or --dataset (--id, --outcome, --agent,
    --ddi and --search narrow it)."""
    if not (table or dataset):  # the library's error named records.read's arguments
        fail(
            "give --table or --dataset (the campaign to read): --id, --outcome, --agent, "
            "--ddi and --search only narrow it"
        )
    search: dict[str, str] = {}
    for item in searches:
        field, equals, value = item.partition("=")
        if not equals or not field.strip():
            fail(f"--search {item!r}: give FIELD=VALUE")
        if not value:  # every value "contains" "": the whole campaign was read
            fail(f"--search {field.strip()}= is empty: give the VALUE to search for")
        if field.strip() in search:  # the last one won, silently
            fail(f"--search {field.strip()} is given twice: a field is searched for one value")
        search[field.strip()] = value
    if exact and not searches:
        fail("--exact is how --search matches: give --search FIELD=VALUE too")
    if (since or until) and timetype is None:
        fail("--since/--until need --timetype callback or processdate")
    filters: dict[str, Any] = {
        "table": table,
        "dataset": dataset,
        "id": list(ids) or None,
        "outcome": list(outcomes) or None,
        "agent": agent,
        "ddi": ddi,
        "search": search or None,
        "exact": exact,
        "mode": mode,
        "timetype": timetype,
        "tstart": option_day_or_time("--since", since, zone=record_tz) if since else None,
        "tstop": option_day_or_time("--until", until, zone=record_tz, end=True) if until else None,
    }

    if since and until:
        refuse_reversed(since, until, filters["tstart"], filters["tstop"], record_tz)

    async def main() -> list[Record]:
        async with connect(settings, record_tz=record_tz) as client:
            return await client.records.read(**filters)

    found = run(settings, main)
    if as_json:
        for record in found:
            emit_json({name: getattr(record, name) for name in _LISTED})
        return
    print_table(
        ["id", "dataset", "name", "phone", "outcome", "process type", "callback"],
        [
            [
                r.record_id,
                r.dataset_id or "",
                f"{r.first_name} {r.last_name}".strip(),
                (r.phones or ("",))[0],
                r.outcome_id or "",
                r.process_type,
                r.callback_at.isoformat() if r.callback_at else "",
            ]
            for r in found
        ],
        none=_no_records(table, dataset, filters),
    )


def _no_records(table: str | None, dataset: str | None, filters: dict[str, Any]) -> str:
    """What an empty ``records read`` says: where it looked, and the flags that narrowed it."""
    where = " of ".join(
        f"{kind} {name}" for kind, name in (("dataset", dataset), ("table", table)) if name
    )
    narrowed = [flag for flag, name in _NARROWING if filters[name]]
    return f"no records in {where}" + (f" match {', '.join(narrowed)}" if narrowed else "")


#: The filters of ``records read`` that narrow a table or a dataset: (flag, filter).
_NARROWING = (
    *((f"--{name}", name) for name in ("id", "outcome", "agent", "ddi", "search", "mode")),
    ("--timetype", "timetype"), ("--since", "tstart"), ("--until", "tstop"),
)  # fmt: skip


@records.command("create")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--dataset", callback=refuse_empty, help="The dataset of rows that name none.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 50),
    default=8,
    show_default=True,
    help="Records sent at once.",
)
@record_tz_option(
    "The zone of the centre's record dates, e.g. Europe/London or +01:00 (default: UTC)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON line per row.")
@click.pass_obj
def records_create(
    settings: Settings,
    file: io.TextIOBase,
    dataset: str | None,
    concurrency: int,
    record_tz: tzinfo,
    as_json: bool,
) -> None:
    """Create a record from each row of FILE: CSV with a header row of field names
    (HomePhone, FirstName, dataset, ...), or JSON lines (one object per line); - is stdin.

    Each row is sent on its own, so a bad row (no dataset, no phone, refused by the API)
    is reported and never stops the others. Not idempotent: a row whose reply was lost
    may have been created; read it back before sending it again. Exit code 4 if any
    row failed; Ctrl-C (exit 130) still reports each row, those not sent too.
    """
    rows = list(_rows(file, dataset))
    results: dict[int, dict[str, Any]] = {}
    stderr = Console(stderr=True)
    progress = Progress(
        TextColumn("creating records"),
        BarColumn(),
        MofNCompleteColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    )
    task = progress.add_task("records", total=len(rows))

    refused: dict[int, AuthenticationError] = {}  # by line: the API refused the credentials
    sending: set[int] = set()  # the lines sent and not yet answered (Ctrl-C: maybe created)

    async def create_one(client: ContactNow, line: int, record: dict[str, Any] | str) -> None:
        """Create one row's record; its outcome goes in ``results``, whatever it is."""
        sending.add(line)
        try:
            if isinstance(record, str):
                raise ValueError(record)
            created = await client.records.create([record])
            results[line] = {"line": line, "record_id": created.key, "info": created.info}
        except AuthenticationError as exc:
            refused[line] = exc  # every row would fail the same way: stop them all
            sending.discard(line)  # refused: nothing was done
            groups[0].cancel_scope.cancel()
            return
        except WriteError as exc:  # the API's own words for the row: "Bad argument: ..."
            results[line] = {"line": line, "error": exc.result.error or str(exc)}
        except (TransportError, HTTPStatusError, ResponseFormatError) as exc:
            # Past the server's door (a lost or garbled reply, a gateway's 5xx; not a 429,
            # which says it was not taken), the record may exist: say so.
            maybe = exc.sent if isinstance(exc, TransportError) else not isinstance(
                exc, RateLimitError
            )  # fmt: skip
            results[line] = _failed(line, str(exc), maybe_created=maybe)
        except (ContactNowError, ValueError, TypeError) as exc:  # TypeError: a phone as a number
            results[line] = {"line": line, "error": str(exc)}
        sending.discard(line)
        progress.advance(task)

    groups: list[anyio.abc.TaskGroup] = []

    async def main() -> None:
        limit = anyio.CapacityLimiter(concurrency)

        async def limited(client: ContactNow, line: int, record: dict[str, Any] | str) -> None:
            async with limit:
                await create_one(client, line, record)

        async with (
            connect(settings, transport=MANY_REQUESTS_WIRE, record_tz=record_tz) as client,
            anyio.create_task_group() as tg,
        ):
            groups.append(tg)
            for line, record in rows:
                tg.start_soon(limited, client, line, record)
        if refused:
            raise next(iter(refused.values()))

    stopped: int | str | None = None
    not_sent = _NOT_SENT
    with progress:
        try:
            run(settings, main)
        except SystemExit as exc:  # Ctrl-C: still say what was done, and what was not
            # Credentials refused midway (a password changed): the rows done are said too.
            if exc.code not in (EXIT_INTERRUPTED, EXIT_AUTH) or (
                exc.code == EXIT_AUTH and not results
            ):
                raise
            stopped = exc.code
            if exc.code == EXIT_AUTH:
                not_sent = "not sent (the API refused the credentials)"
    for line, why in refused.items():
        results[line] = {"line": line, "error": str(why)}
    unsent = [line for line, _ in rows if line not in results and line not in sending]
    for line in sending - results.keys():
        results[line] = _failed(line, "interrupted as it was sent", maybe_created=True)
    failed = [results[line] for line in sorted(results) if "error" in results[line]]
    created = len(results) - len(failed)
    if as_json:
        for line in sorted([*results, *unsent]):
            emit_json(results.get(line) or {"line": line, "error": not_sent})
    else:
        click.echo(f"created {created} of {len(rows)} records")
        for result in failed:
            click.echo(f"line {result['line']}: {printable(result['error'])}", err=True)
        if unsent:
            click.echo(f"{_line_ranges(unsent)}: {not_sent}", err=True)
    if stopped is not None:
        raise SystemExit(stopped)
    if failed:
        raise SystemExit(EXIT_API)


#: Said of a row whose reply never came: sending the file again could create it twice.
_MAYBE_CREATED = " (it may have been created: check before sending it again)"


def _failed(line: int, error: str, *, maybe_created: bool) -> dict[str, Any]:
    """A row's result that is no record: its ``error``, and, where the row may have been
    created all the same, that said in the text and as ``maybe_created: true`` (``--json``:
    a script need not read the text to know which rows to check)."""
    if not maybe_created:
        return {"line": line, "error": error}
    return {"line": line, "error": error + _MAYBE_CREATED, "maybe_created": True}


_NOT_SENT = "not sent (interrupted)"


def _line_ranges(lines: list[int]) -> str:
    """``lines 5-9, 12`` for the sorted line numbers ``lines`` (``line 5`` for one)."""
    spans: list[list[int]] = []
    for line in lines:
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    text = ", ".join(f"{low}-{high}" if high > low else f"{low}" for low, high in spans)
    return f"{'lines' if len(lines) > 1 else 'line'} {text}"


def _rows(file: io.TextIOBase, dataset: str | None) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """``(line, record)`` for each row; a row that cannot be a record is ``(line, why)``."""
    try:
        text = file.read()
    except UnicodeDecodeError as exc:
        name = getattr(file, "name", "-")
        bad = exc.object[exc.start : exc.start + 1].hex()
        fail(f"{name}: not UTF-8 text (a byte 0x{bad} in it): save the file as UTF-8")
    if text.lstrip()[:1] in ("{", "["):  # an array first: JSON lines, one not a record
        rows = _json_lines(text)
    else:
        rows = _csv_rows(text)
    for line, record in rows:
        if isinstance(record, dict):
            record = {key: value for key, value in record.items() if value not in (None, "")}
            # The API reads field names in any case: "Dataset" is the row's dataset too.
            named = [key for key in record if str(key).lower() == "dataset"]
            if named and "dataset" not in record:
                record["dataset"] = record.pop(named[0])
            if dataset and "dataset" not in record:
                record["dataset"] = dataset
            record = _checked(record)
        yield line, record


def _json_lines(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    # Split at line ends only: splitlines() splits at U+2028 and U+0085 too, which a
    # JSON string may hold as they are.
    for line, raw in enumerate(io.StringIO(text, newline=None), start=1):
        if not raw.strip():
            continue
        try:
            decoded = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json reads
            yield line, "not a JSON object (one record per line)"
            continue
        yield line, decoded if isinstance(decoded, dict) else "not a JSON object"


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or any(not (name or "").strip() for name in reader.fieldnames):
        fail("the CSV file needs a header row of field names (HomePhone, FirstName, ...)")
    seen: set[str] = set()
    for name in reader.fieldnames:
        if name.strip().lower() in seen:  # the API reads field names in any case
            fail(f"the CSV header names {name.strip()!r} twice: one column would be lost")
        seen.add(name.strip().lower())
    try:
        for row in reader:
            # line_num is the row's last line: a quoted value may hold line breaks.
            values = [value for key, value in row.items() if key is not None]
            values += row.get(None) or []  # the values past the header, under None
            breaks = sum(len(_LINE_BREAK.findall(value)) for value in values if value)
            line = reader.line_num - breaks
            if None in row:
                yield line, "more values than the header names"
                continue
            yield line, {key.strip(): value for key, value in row.items()}
    except csv.Error as exc:  # a field past the csv module's limit (131,072 characters)
        # line_num counts the lines of the rows read whole: the bad one starts on the next.
        fail(f"line {reader.line_num + 1}: not CSV the csv module reads ({exc})")


#: A line break as the csv module's reader counts lines (``newline=""``: all three kinds).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _checked(record: dict[str, Any]) -> dict[str, Any] | str:
    """The record, or why it cannot be sent (what records.create would refuse)."""
    missing = lacks(record)
    if "dataset" in missing:
        missing[missing.index("dataset")] = "a dataset (a column, or --dataset)"
    return f"lacks {' and '.join(missing)}" if missing else record

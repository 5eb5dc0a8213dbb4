"""``contactnow records`` and ``contactnow datasets`` against the served simulator."""

from __future__ import annotations

import json
import signal
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest

from contactnow_async.simulator import Simulator

from .conftest import PASSWORD, USERNAME, CliInvoker, Served, assert_one_error, served_in_thread

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _loud_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables print to the CLI's shared rich console, which an earlier in-process test of a
    closed pipe (tests/cli/test_pipes.py) leaves quiet for the rest of the process."""
    from contactnow_async._cli import _common

    monkeypatch.setattr(_common.console, "quiet", False)


LEADS_CSV = """\
dataset,MobilePhone,FirstName,LastName,Testy
351,07700900201,Ann,Csv,from csv
,07700900202,No,Dataset,
351,,No,Phone,
350,07700900203,Expired,Dataset,
352,07700900204,Held,Lead,
351,07700900205,Too,Many,values,here
"""


def test_records_create_from_csv_reports_each_bad_row(
    invoke: CliInvoker, served: Served, tmp_path: Path
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text(LEADS_CSV, encoding="utf-8")
    out = invoke(["records", "create", str(leads)], env=served.env())
    assert out.code == 4, out
    assert out.stdout.strip() == "created 2 of 6 records"
    assert out.error_lines == [
        "line 3: lacks a dataset (a column, or --dataset)",
        "line 4: lacks one of HomePhone, WorkPhone or MobilePhone",
        "line 5: Bad argument: dataset [350] is EXPIRED",
        "line 7: more values than the header names",
    ]
    listed = invoke(
        ["records", "read", "--json", "--table", "Willtest", "--search", "LastName=csv"],
        env=served.env(),
    )
    assert listed.code == 0, listed
    (ann,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (ann["first_name"], ann["dataset_id"], ann["fields"]["Testy"]) == (
        "Ann",
        "351",
        "from csv",
    )


def test_records_create_from_json_lines_on_stdin(invoke: CliInvoker, served: Served) -> None:
    lines = "\n".join(
        [
            json.dumps({"HomePhone": "01614960301", "FirstName": "Jay", "LastName": "Lines"}),
            "not json",
            "",
            json.dumps({"dataset": 9999, "HomePhone": "01614960302"}),
            json.dumps(["a", "list"]),
        ]
    )
    out = invoke(
        ["records", "create", "-", "--dataset", "352", "--json"], env=served.env(), input=lines
    )
    assert out.code == 4, out
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [row["line"] for row in rows] == [1, 2, 4, 5]
    created = rows[0]
    assert created["info"] == "Record NOT live on the dialer."
    assert [row["error"] for row in rows[1:]] == [
        "not a JSON object (one record per line)",
        "Bad argument: dataset [9999] does not exist.",
        "not a JSON object",
    ]
    found = invoke(
        ["records", "read", "--dataset", "352", "--id", created["record_id"], "--json"],
        env=served.env(),
    )
    (record,) = [json.loads(line) for line in found.stdout.splitlines()]
    assert (record["last_name"], record["dataset_id"]) == ("Lines", "352")


def test_records_read_filters_and_table(invoke: CliInvoker, served: Served) -> None:
    out = invoke(
        ["records", "read", "--table", "Willtest", "--outcome", "510456", "--outcome", "510457"],
        env=served.env(),
    )
    assert out.code == 0, out
    assert "COMPLETE" in out.stdout
    assert "412" in out.stdout and "413" in out.stdout
    window = invoke(
        [
            "records", "read", "--json", "--table", "Willtest", "--timetype", "processdate",
            "--since", "30d", "--until", "now", "--record-tz", "Europe/London",
        ],
        env=served.env(),
    )  # fmt: skip
    assert window.code == 0, window
    assert {json.loads(line)["record_id"] for line in window.stdout.splitlines()} >= {"412", "413"}


def test_records_read_takes_a_bare_day_as_that_whole_day_in_the_record_zone(
    invoke: CliInvoker, served: Served
) -> None:
    # As records.read(tstart=day, tstop=day) does: --until DAY was DAY's midnight in UTC,
    # which left the day itself out (and --since DAY --until DAY read nothing of it).
    every = invoke(["records", "read", "--json", "--table", "Willtest"], env=served.env())
    assert every.code == 0, every
    processed = {
        row["record_id"]: row["processed_ts"]
        for row in map(json.loads, every.stdout.splitlines())
        if row["processed_ts"]
    }
    record_id, stamp = next(iter(processed.items()))
    day = datetime.fromtimestamp(stamp, ZoneInfo("Europe/London")).date().isoformat()
    window = invoke(
        [
            "records", "read", "--json", "--table", "Willtest", "--timetype", "processdate",
            "--since", day, "--until", day, "--record-tz", "Europe/London",
        ],
        env=served.env(),
    )  # fmt: skip
    assert window.code == 0, window
    rows = [json.loads(line) for line in window.stdout.splitlines()]
    assert record_id in {row["record_id"] for row in rows}
    # Only that day's (the simulator's dialler may process more while the test reads).
    london = ZoneInfo("Europe/London")
    assert {
        datetime.fromtimestamp(row["processed_ts"], london).date().isoformat() for row in rows
    } == {day}


@pytest.fixture(scope="module")
def in_tokyo() -> Iterator[Served]:
    """A centre whose record dates are Tokyo's (UTC+9, no summer time)."""
    sim = Simulator(username=USERNAME, password=PASSWORD, seed=2, record_tz=ZoneInfo("Asia/Tokyo"))
    with served_in_thread(sim) as served:
        yield served


def test_records_read_takes_a_time_without_an_offset_in_the_record_zone(
    invoke: CliInvoker, in_tokyo: Served
) -> None:
    # A naive --since/--until was read in UTC, then sent in the record zone: nine hours
    # after the minute around a record's process time that it names in Tokyo.
    every = invoke(
        ["records", "read", "--json", "--table", "Willtest", "--record-tz", "Asia/Tokyo"],
        env=in_tokyo.env(),
    )
    assert every.code == 0, every
    record_id, stamp = next(
        (row["record_id"], row["processed_ts"])
        for row in map(json.loads, every.stdout.splitlines())
        if row["processed_ts"]
    )
    tokyo = ZoneInfo("Asia/Tokyo")
    since, until = (
        datetime.fromtimestamp(stamp + edge, tokyo).replace(tzinfo=None).isoformat()
        for edge in (-60, 60)
    )
    window = invoke(
        [
            "records", "read", "--json", "--table", "Willtest", "--timetype", "processdate",
            "--since", since, "--until", until, "--record-tz", "Asia/Tokyo",
        ],
        env=in_tokyo.env(),
    )  # fmt: skip
    assert window.code == 0, window
    assert record_id in {json.loads(line)["record_id"] for line in window.stdout.splitlines()}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["records", "read", "--mode", "live"], "give --table or --dataset"),
        (["records", "read", "--ddi", "01234567890"], "give --table or --dataset"),
        (["records", "read", "--table", "T", "--search", "nofield"], "give FIELD=VALUE"),
        # An unset shell variable: every record of the campaign "contains" "".
        (["records", "read", "--table", "T", "--search", "phone="], "--search phone= is empty"),
        (["records", "read", "--table", "T", "--since", "1h"], "need --timetype"),
        # Taken without a word, and nothing done with it: every record was read.
        (["records", "read", "--table", "T", "--exact"], "--exact is how --search matches"),
        # The last one won silently: records with only 079 in a phone were read.
        (
            ["records", "read", "--table", "T", "--search", "phone=020", "--search", "phone=079"],
            "--search phone is given twice",
        ),
        (["records", "read", "--table", "Nope"], "Bad argument: table [Nope] does not exist."),
    ],
)
def test_records_read_errors(
    invoke: CliInvoker, served: Served, args: list[str], message: str
) -> None:
    line = assert_one_error(invoke(args, env=served.env()), 4 if "Nope" in args else 2)
    assert message in line


def test_datasets_list_and_set_status(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["datasets", "list", "--json", "--table", "Willtest"], env=served.env())
    assert out.code == 0, out
    rows = {row["dataset_id"]: row for row in map(json.loads, out.stdout.splitlines())}
    assert rows["350"]["status"] == "EXPIRED"
    assert rows["351"]["description"] == "MyNumber"
    table = invoke(["datasets", "list", "--state", "live"], env=served.env())
    assert "MyNumber" in table.stdout and "Old leads" not in table.stdout

    assert invoke(["datasets", "set-status", "353", "hold"], env=served.env()).stdout == (
        "dataset 353 is HOLD\n"
    )
    held = invoke(["datasets", "list", "--json", "--queue", "2002"], env=served.env())
    assert json.loads(held.stdout)["status"] == "HOLD"
    refused = assert_one_error(
        invoke(["datasets", "set-status", "353", "EXPIRED"], env=served.env()), 2
    )
    assert "add --yes" in refused
    assert invoke(["datasets", "set-status", "353", "live"], env=served.env()).code == 0
    expired = assert_one_error(
        invoke(["datasets", "set-status", "350", "live"], env=served.env()), 4
    )
    assert "dataset [350] is EXPIRED" in expired


def test_records_create_with_wrong_credentials_stops_at_once(
    invoke: CliInvoker, served: Served, tmp_path: Path
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("dataset,HomePhone\n351,1\n351,2\n351,3\n", encoding="utf-8")
    out = invoke(
        ["records", "create", str(leads)], env=served.env(CONTACTNOW_PASSWORD="wr0ng-passw0rd")
    )
    assert_one_error(out, 3)


def test_records_create_from_a_file_that_is_not_utf8(
    invoke: CliInvoker, served: Served, tmp_path: Path
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_bytes("HomePhone,FirstName\n07700900206,Zoë\n".encode("latin-1"))
    line = assert_one_error(invoke(["records", "create", str(leads)], env=served.env()), 2)
    assert "not UTF-8" in line  # was a UnicodeDecodeError traceback


def test_records_create_a_json_line_nested_too_deep(invoke: CliInvoker, served: Served) -> None:
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    out = invoke(
        ["records", "create", "-", "--dataset", "352", "--json"], env=served.env(), input=deep
    )
    assert out.code == 4, out  # was a RecursionError traceback
    assert [json.loads(line) for line in out.stdout.splitlines()] == [
        {"line": 1, "error": "not a JSON object (one record per line)"}
    ]


@pytest.mark.parametrize("fault", ["truncated", "http_502", "drop_after"])
def test_records_create_says_a_row_may_have_been_created_when_the_reply_was_bad(
    fault: str, invoke: CliInvoker, served: Served
) -> None:
    # A garbled reply or a gateway's error came after the request reached the server: the
    # record may exist, and sending the file again could create it twice.
    line = json.dumps({"dataset": 352, "HomePhone": "01614960399", "LastName": "Maybe"})
    served.sim.faults.inject(fault, script="ecnow", method="ecnow_records", action="create")
    out = invoke(["records", "create", "-", "--json"], env=served.env(), input=line)
    assert out.code == 4, out
    (row,) = [json.loads(text) for text in out.stdout.splitlines()]
    assert row["error"].endswith("(it may have been created: check before sending it again)")
    assert row["maybe_created"] is True  # a script need not read the text


def test_records_create_says_nothing_of_the_kind_for_a_refusal(
    invoke: CliInvoker, served: Served
) -> None:
    line = json.dumps({"dataset": 9999, "HomePhone": "01614960398"})
    out = invoke(["records", "create", "-", "--json"], env=served.env(), input=line)
    (row,) = [json.loads(text) for text in out.stdout.splitlines()]
    assert row == {"line": 1, "error": "Bad argument: dataset [9999] does not exist."}


def test_records_create_a_csv_field_past_the_csv_module_limit(
    invoke: CliInvoker, served: Served, tmp_path: Path
) -> None:
    leads = tmp_path / "leads.csv"
    notes = "x" * 200_000
    leads.write_text(f"dataset,HomePhone,Notes\n352,01614960397,{notes}\n", encoding="utf-8")
    gets = served.sim.stats.token_gets
    line = assert_one_error(invoke(["records", "create", str(leads)], env=served.env()), 2)
    assert "line 2" in line  # was a csv.Error traceback
    assert served.sim.stats.token_gets == gets  # nothing sent


@pytest.mark.parametrize("header", ["dataset,HomePhone,HomePhone", "dataset,HomePhone, homephone"])
def test_records_create_a_csv_header_naming_a_field_twice(
    invoke: CliInvoker, served: Served, header: str
) -> None:
    # One column's values were dropped without a word (the last one with a name won).
    out = invoke(["records", "create", "-"], env=served.env(), input=f"{header}\n352,0161,\n")
    line = assert_one_error(out, 2)
    assert "HomePhone" in line or "homephone" in line


def _at_the_third_create(
    monkeypatch: pytest.MonkeyPatch, happen: Callable[[], Awaitable[None]]
) -> list[Any]:
    """``records.create`` as usual, but ``happen`` first at its third call (the third row,
    sent one at a time); the calls made, which a test clears to run the command again."""
    from contactnow_async.resources.records import Records

    create, calls = Records.create, []

    async def create_after(self: Records, records: Any) -> Any:
        calls.append(records)
        if len(calls) == 3:
            await happen()
        return await create(self, records)

    monkeypatch.setattr(Records, "create", create_after)
    return calls


def test_records_create_interrupted_reports_what_was_done(
    invoke: CliInvoker, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C exited 130 with nothing said: which rows were created, which not, was lost.
    async def ctrl_c() -> None:  # as the third row is sent
        signal.raise_signal(signal.SIGINT)
        await anyio.sleep(5)

    calls = _at_the_third_create(monkeypatch, ctrl_c)
    leads = "".join(f"352,0161496040{n}\n" for n in range(5))
    args = ["records", "create", "-", "--concurrency", "1"]
    out = invoke(args, env=served.env(), input="dataset,HomePhone\n" + leads)
    assert out.code == 130, out
    assert out.stdout == "created 2 of 5 records\n"
    assert out.error_lines == [
        "line 4: interrupted as it was sent (it may have been created: check before sending "
        "it again)",
        "lines 5-6: not sent (interrupted)",
    ]
    calls.clear()
    out = invoke([*args, "--json"], env=served.env(), input="dataset,HomePhone\n" + leads)
    assert out.code == 130, out
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [row["line"] for row in rows] == [2, 3, 4, 5, 6]
    assert [row.get("error") for row in rows[2:]] == [
        "interrupted as it was sent (it may have been created: check before sending it again)",
        "not sent (interrupted)",
        "not sent (interrupted)",
    ]
    assert [row.get("maybe_created", False) for row in rows] == [False, False, True, False, False]


@pytest.mark.parametrize(
    ("value", "read"),
    [("NaN", "nan"), ("Infinity", "inf"), ("-Infinity", "-inf"), ("1e400", "inf")],
)
def test_records_create_a_json_number_that_is_not_finite_is_refused(
    invoke: CliInvoker, served: Served, value: str, read: str
) -> None:
    before = served.sim.stats.count("ecnow", "ecnow_records")
    line = '{"HomePhone": "07700900123", "FirstName": "Ann", "Age": ' + value + "}"
    out = invoke(
        ["records", "create", "-", "--dataset", "352", "--json"], env=served.env(), input=line
    )
    assert out.code == 4, out  # a record was created with Age "nan" or "inf"
    assert [json.loads(row) for row in out.stdout.splitlines()] == [
        {"line": 1, "error": f"records.create: Age is {read}, not a finite number"}
    ]
    assert served.sim.stats.count("ecnow", "ecnow_records") == before  # nothing sent


def test_records_create_json_lines_split_only_at_line_ends(
    invoke: CliInvoker, served: Served
) -> None:
    # JSON lets a string hold U+2028, U+2029 and U+0085 as they are (json.dumps with
    # ensure_ascii=False writes them so), and a first line may be an array: each row
    # was split in two at such a character (both refused, every later row numbered one
    # too many), and a file starting with an array was read as CSV.
    names = ["Line\u2028Sep", "Para\u2029Sep", "Next\x85Line"]
    lines = [json.dumps(["not", "a", "record"])] + [
        json.dumps({"HomePhone": f"0161496040{n}", "FirstName": name}, ensure_ascii=False)
        for n, name in enumerate(names)
    ]
    out = invoke(
        ["records", "create", "-", "--dataset", "352", "--json"],
        env=served.env(),
        input="\r\n".join(lines) + "\r\n",
    )
    assert out.code == 4, out
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows[0] == {"line": 1, "error": "not a JSON object"}
    assert [(row["line"], "record_id" in row) for row in rows[1:]] == [
        (2, True),
        (3, True),
        (4, True),
    ]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["records", "read", "--id", "412"], "give --table or --dataset"),
        (["records", "read", "--dataset", "351", "--id", ""], "Invalid value for '--id'"),
        (["records", "read", "--table", "T", "--outcome", ""], "Invalid value for '--outcome'"),
        (["datasets", "list", "--queue", ""], "Invalid value for '--queue'"),
        (["status-log", "--agent", ""], "Invalid value for '--agent'"),
    ],
)
def test_a_missing_or_empty_filter_is_named_by_its_flag(
    invoke: CliInvoker, served: Served, args: list[str], said: str
) -> None:
    # The library's words named its own arguments: "records.read needs a table or a
    # dataset", "id must be one or more non-empty ids, got ['']".
    before = len(served.sim.requests)
    out = invoke(args, env=served.env())
    assert out.code == 2, out
    assert said in out.stderr, out
    assert "records.read" not in out.stderr and "got ['']" not in out.stderr
    assert len(served.sim.requests) == before


@pytest.mark.parametrize("given", [[], ["--dataset", "352"]])
def test_a_dataset_column_in_any_case_is_the_rows_dataset(
    invoke: CliInvoker, served: Served, tmp_path: Path, given: list[str]
) -> None:
    # The API reads field names in any case (the header check says so): a "Dataset"
    # column was "lacks a dataset", and beside --dataset both were sent, the row's lost.
    name = f"CaseDs{len(given)}"
    leads = tmp_path / "leads.csv"
    leads.write_text(f"Dataset,MobilePhone,LastName\n351,07700900301,{name}\n", encoding="utf-8")
    out = invoke(["records", "create", str(leads), *given], env=served.env())
    assert out.code == 0, out
    listed = invoke(
        ["records", "read", "--json", "--table", "Willtest", "--search", f"LastName={name}"],
        env=served.env(),
    )
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["dataset_id"] == "351"


def test_records_create_a_row_records_create_refuses_as_a_type_error_is_reported(
    invoke: CliInvoker, served: Served
) -> None:
    # A phone as a JSON number (its leading 0 lost) or a dataset as a float is a TypeError
    # from records.create: it ended the whole run as "unexpected error", the created rows
    # unreported.
    lines = "\n".join(
        [
            json.dumps({"dataset": 352, "HomePhone": "01614960391"}),
            json.dumps({"dataset": 352, "HomePhone": 1614960392}),
            json.dumps({"dataset": 352.0, "HomePhone": "01614960393"}),
        ]
    )
    out = invoke(
        ["records", "create", "-", "--json", "--concurrency", "1"], env=served.env(), input=lines
    )
    assert out.code == 4, out
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [row["line"] for row in rows] == [1, 2, 3]
    assert "record_id" in rows[0]
    assert "HomePhone" in rows[1]["error"]
    assert "dataset" in rows[2]["error"]


def test_records_create_refused_credentials_midway_reports_what_was_done(
    invoke: CliInvoker, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The account's password changed midway (the token's refresh refused): exit 3 with
    # one line, the rows already created unreported, as if none had been.
    from contactnow_async import AuthenticationError

    async def refused() -> None:
        raise AuthenticationError("Authentication failure", error="Authentication failure")

    _at_the_third_create(monkeypatch, refused)
    leads = "".join(f"352,0161496041{n}\n" for n in range(5))
    args = ["records", "create", "-", "--concurrency", "1"]
    out = invoke(args, env=served.env(), input="dataset,HomePhone\n" + leads)
    assert out.code == 3, out
    assert out.stdout == "created 2 of 5 records\n"
    assert out.error_lines == [
        "contactnow: error: Authentication failure",
        "line 4: Authentication failure",
        "lines 5-6: not sent (the API refused the credentials)",
    ]


def test_records_create_names_a_csv_row_by_the_line_it_starts_on(
    invoke: CliInvoker, served: Served
) -> None:
    # A quoted value over two lines made its row "line 3" (where it ends), where an editor
    # shows it starting on line 2.
    leads = 'dataset,HomePhone,Notes\n350,01614960381,"two\r\nlines"\n\n351,,"a\rb\nc"\n351,,one\n'
    out = invoke(["records", "create", "-"], env=served.env(), input=leads)
    assert out.code == 4, out
    assert out.error_lines == [
        "line 2: Bad argument: dataset [350] is EXPIRED",
        "line 5: lacks one of HomePhone, WorkPhone or MobilePhone",
        "line 8: lacks one of HomePhone, WorkPhone or MobilePhone",
    ]

"""``contactnow report calls``, ``report cdr`` and ``report agents`` against a served simulator that
has lived an hour (a virtual clock, so the hour is fixed)."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest

from contactnow_async import AgentSession
from contactnow_async.simulator import Simulator, VirtualClock

from .conftest import PASSWORD, USERNAME, CliInvoker, Served, assert_one_error, served_in_thread

pytestmark = pytest.mark.integration

START = 1_700_000_000
WINDOW = ["--since", str(START), "--until", str(START + 3600)]
#: What ``report agents --json`` names a session's fields: its attributes.
ATTRIBUTES = {field.name for field in attrs.fields(AgentSession)} - {"raw"}


@pytest.fixture(autouse=True)
def _loud_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables print to the CLI's shared rich console, which an earlier in-process test of a
    closed pipe (tests/cli/test_pipes.py) leaves quiet for the rest of the process."""
    from contactnow_async._cli import _common

    monkeypatch.setattr(_common.console, "quiet", False)


@pytest.fixture(scope="module")
def an_hour() -> Iterator[Served]:
    clock = VirtualClock(START)
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=10, seed=2, clock=clock)
    clock.advance(3600)
    with served_in_thread(sim) as served:
        yield served


def test_report_calls_as_json_csv_and_a_table(invoke: CliInvoker, an_hour: Served) -> None:
    args = ["report", "calls", "--fields", "nc_all,nc_ans", "--fields", "sec_dur"]
    args += ["--group-by", "qid", "--cutoff", "20", *WINDOW]
    as_json = invoke([*args, "--json"], env=an_hour.env())
    assert as_json.code == 0, as_json
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [row["qid"] for row in rows] == ["1007", "1008", "1009"]
    assert all(type(row["nc_all"]) is int and type(row["sec_dur"]) is float for row in rows)
    as_csv = invoke([*args, "--csv"], env=an_hour.env())
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [int(row["nc_all"]) for row in table] == [row["nc_all"] for row in rows]
    shown = invoke(args, env=an_hour.env())
    assert shown.code == 0 and "nc_ans" in shown.stdout and "1008" in shown.stdout
    queue = invoke([*args, "--json", "--filter", "queue=1008"], env=an_hour.env())
    assert [json.loads(line)["qid"] for line in queue.stdout.splitlines()] == ["1008"]


@pytest.mark.parametrize("command", ["calls", "cdr"])
def test_a_time_without_an_offset_is_read_in_the_record_zone(
    invoke: CliInvoker, an_hour: Served, command: str
) -> None:
    # START is 2023-11-14T22:13:20Z, 2023-11-15T07:13:20 in Tokyo (UTC+9, no summer time):
    # read as UTC, the window was nine hours after the centre's hour, and held no call.
    args = ["report", command, "--json"]
    if command == "calls":
        args += ["--fields", "nc_all", "--group-by", "qid"]
    utc = invoke([*args, *WINDOW], env=an_hour.env())
    tokyo = ["--since", "2023-11-15T07:13:20", "--until", "2023-11-15T08:13:20"]
    local = invoke([*args, *tokyo, "--record-tz", "Asia/Tokyo"], env=an_hour.env())
    assert (local.code, utc.code) == (0, 0), (local, utc)
    assert utc.stdout and local.stdout == utc.stdout


@pytest.mark.parametrize("command", ["calls", "cdr"])
def test_a_filter_given_a_comma_list_reads_each_value(
    invoke: CliInvoker, an_hour: Served, command: str
) -> None:
    # The help's own example (agent=1234,5678) was refused by the library ("filter queue
    # must be one or more non-empty values, got '1007,1008'"), exit 2.
    args = ["report", command, "--fields", "qid", *WINDOW, "--json"]
    args += ["--group-by", "qid"] if command == "calls" else []
    out = invoke([*args, "--filter", "queue=1007, 1008"], env=an_hour.env())
    assert out.code == 0, out
    assert {json.loads(line).get("qid", json.loads(line).get("queue_id"))
            for line in out.stdout.splitlines()} == {"1007", "1008"}  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        # Given twice, the last one won without a word: the 1007 calls were left out.
        (["queue=1007", "queue=1008"], "--filter queue is given twice"),
        (["queue=1007,"], "give NAME=VALUE"),
    ],
)
def test_a_filter_given_twice_or_with_an_empty_value_is_refused(
    invoke: CliInvoker, an_hour: Served, filters: list[str], message: str
) -> None:
    args = ["report", "cdr", *WINDOW, "--json"]
    for item in filters:
        args += ["--filter", item]
    line = assert_one_error(invoke(args, env=an_hour.env()), 2)
    assert message in line


def test_report_cdr_csv_names_a_field_asked_for_twice_once(
    invoke: CliInvoker, an_hour: Served
) -> None:
    # "callid,qid,sec_dur,qid": a DictReader kept one qid column; --json had each key once.
    args = ["report", "cdr", "--fields", "qid,sec_dur", "--fields", "qid,callid", *WINDOW]
    out = invoke([*args, "--csv"], env=an_hour.env())
    assert out.code == 0, out
    assert out.stdout.splitlines()[0] == "qid,sec_dur,callid"  # as asked, each once


def test_report_cdr_as_csv_agrees_with_calls(invoke: CliInvoker, an_hour: Served) -> None:
    out = invoke(
        ["report", "cdr", "--csv", "--fields", "qid,cres,sec_que", "--page-size", "7", *WINDOW],
        env=an_hour.env(),
    )
    assert out.code == 0, out
    calls = list(csv.DictReader(io.StringIO(out.stdout)))
    assert list(calls[0]) == ["callid", "qid", "cres", "sec_que"]
    assert len({row["callid"] for row in calls}) == len(calls) > 20
    totals = invoke(
        ["report", "calls", "--json", "--fields", "nc_all", "--group-by", "qid", *WINDOW],
        env=an_hour.env(),
    )
    by_queue = {row["qid"]: row["nc_all"] for row in map(json.loads, totals.stdout.splitlines())}
    assert by_queue == {
        qid: sum(row["qid"] == qid for row in calls) for qid in {row["qid"] for row in calls}
    }
    as_json = invoke(
        [
            "report",
            "cdr",
            "--json",
            "--fields",
            "aid,tm_init",
            "--filter",
            "qtype=inbound",
            *WINDOW,
        ],
        env=an_hour.env(),
    )
    first = json.loads(as_json.stdout.splitlines()[0])
    assert set(first) == {"call_id", "agent_id", "initiated_ts"}  # the Python names
    table = invoke(["report", "cdr", *WINDOW], env=an_hour.env())
    assert table.code == 0 and "callid" in table.stdout and "Answered" in table.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["calls", "--fields", "nc_al", "--group-by", "qid"], 2, "did you mean nc_all"),
        (["calls", "--fields", "nc_all", "--group-by", "qid", "--json", "--csv"], 2, "pick one"),
        (
            ["calls", "--fields", "nc_all", "--group-by", "qid", "--filter", "queue"],
            2,
            "NAME=VALUE",
        ),
        (["calls", "--fields", "nc_all", "--group-by", "qid", "--since", "soon"], 2, "not a time"),
        (["cdr", "--fields", "callid", "--filter", "quue=1"], 2, "did you mean queue"),
        (["calls", "--fields", "nc_all", "--group-by", "qid", "--filter", "x=1"], 2, "--no-strict"),
        (["cdr", "--filter", "cutoff=20s"], 2, "--filter cutoff=20s: give whole seconds"),
        (["cdr", "--filter", "cutoff=-5"], 2, "cutoff must be a number of seconds >= 0"),
        (
            ["calls", "--fields", "nc_all", "--group-by", "qid", "--filter", "cutoff=5"],
            2,
            "--cutoff",
        ),
    ],
)
def test_report_errors(
    invoke: CliInvoker, an_hour: Served, args: list[str], code: int, message: str
) -> None:
    out = invoke(["report", *args], env=an_hour.env())
    assert message in assert_one_error(out, code)


def test_report_calls_with_no_row_prints_its_csv_header_and_says_so_for_a_table(
    invoke: CliInvoker, an_hour: Served
) -> None:
    # The columns came from the rows only: a window without a call printed an empty line
    # for --csv (no header for a CSV reader) and for the table; then the table was its
    # header alone, which looked like a failed read.
    before = ["--since", str(START - 7200), "--until", str(START - 3600)]
    args = ["report", "calls", "--fields", "nc_all,nc_ans", "--group-by", "qid", *before]
    as_csv = invoke([*args, "--csv"], env=an_hour.env())
    assert as_csv.code == 0, as_csv
    assert as_csv.stdout == "nc_all,nc_ans,qid\n"
    assert list(csv.DictReader(io.StringIO(as_csv.stdout))) == []
    shown = invoke(args, env=an_hour.env())
    assert shown.code == 0, shown
    assert shown.stdout == ""
    assert shown.error_lines == [
        "no calls from 2023-11-14T20:13:20+00:00 to 2023-11-14T21:13:20+00:00"
    ]
    as_json = invoke([*args, "--json"], env=an_hour.env())
    assert (as_json.code, as_json.stdout) == (0, "")


def test_report_cdr_csv_prints_its_header_only_once_the_api_has_answered(
    invoke: CliInvoker, an_hour: Served
) -> None:
    # The header went out before the first request: a refused login left a file that a
    # CSV reader takes for an empty report, beside the exit code.
    args = ["report", "cdr", "--csv", "--fields", "qid", *WINDOW]
    refused = invoke(args, env=an_hour.env(CONTACTNOW_PASSWORD="not-the-password"))
    assert "password" in assert_one_error(refused, 3)
    assert refused.stdout == ""
    before = ["--since", str(START - 7200), "--until", str(START - 3600)]
    empty = invoke(["report", "cdr", "--csv", "--fields", "qid", *before], env=an_hour.env())
    assert (empty.code, empty.stdout) == (0, "callid,qid\n")


def test_report_cdr_table_shows_the_fields_asked_for(invoke: CliInvoker, an_hour: Served) -> None:
    # The table showed its eight default columns whatever --fields said: cli was left out,
    # and the columns not asked for were empty.
    out = invoke(
        ["report", "cdr", "--fields", "callid,cli", *WINDOW], env=an_hour.env(COLUMNS="200")
    )
    assert out.code == 0, out
    header, *rows = [line.split() for line in out.stdout.splitlines() if "━" not in line]
    assert header == ["callid", "┃", "cli"]
    assert rows and all(len(row) == 3 and row[2].isdigit() for row in rows)


def test_report_cdr_table_shows_times_in_the_record_tz(invoke: CliInvoker, an_hour: Served) -> None:
    # tm_init was raw unix seconds in the table, where status-log and report agents show
    # their times in --record-tz; an unanswered call's tm_answ (0) is blank.
    args = ["report", "cdr", "--fields", "callid,tm_init,tm_answ", *WINDOW, "--record-tz"]
    out = invoke([*args, "Asia/Tokyo"], env=an_hour.env(COLUMNS="200"))
    assert out.code == 0, out
    rows = [line.split() for line in out.stdout.splitlines()[2:]]
    assert rows and all(row[2].endswith("+09:00") for row in rows), out.stdout
    answered = [row for row in rows if len(row) == 5]
    assert answered and all(row[4].endswith("+09:00") for row in answered)
    assert len(answered) < len(rows)  # some calls were not answered: a blank cell


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["calls", "--fields", " , ", "--group-by", "qid"], "--fields"),
        (["calls", "--fields", "nc_all", "--group-by", ","], "--group-by"),
        (["cdr", "--fields", ""], "--fields"),  # was read as "every field"
    ],
)
def test_a_fields_option_naming_no_field_is_refused_by_its_flag(
    invoke: CliInvoker, an_hour: Served, args: list[str], flag: str
) -> None:
    # The library's words named its own argument ("give at least one group_by field"),
    # and report cdr --fields "" (an unset shell variable) read every field instead.
    before = len(an_hour.sim.requests)
    out = invoke(["report", *args, *WINDOW], env=an_hour.env())
    assert out.code == 2, out  # click's usage error: main() makes it one line
    assert f"Invalid value for '{flag}': it names no field" in out.stderr, out
    assert len(an_hour.sim.requests) == before


@pytest.mark.parametrize("output", ["--json", "--csv"])
@pytest.mark.slow
def test_report_cdr_rows_on_a_terminal_are_not_mixed_with_a_progress_bar(
    an_hour: Served, output: str
) -> None:
    # The bar (on stderr) and the rows (on stdout) shared the screen: the first row was
    # written after the bar on its line, and stale bars were left among the rows.
    from .test_demo import _run_in_pty

    args = [sys.executable, "-m", "contactnow_async", "report", "cdr", output, *WINDOW]
    code, screen = _run_in_pty([*args, "--page-size", "5"], env=an_hour.env())
    assert code == 0, screen
    assert "reading the CDR" not in screen
    rows = screen.replace("\r\n", "\n").splitlines()
    assert len(rows) > 5  # more than a page: the bar would have been drawn
    if output == "--json":
        assert all(json.loads(row) for row in rows)
    else:
        assert rows[0].startswith("callid,")


@pytest.mark.parametrize(
    ("args", "name", "flag"),
    [
        (["cdr", "--filter", "start=1"], "start", "--since"),
        (["cdr", "--filter", "stop=1"], "stop", "--until"),
        (["cdr", "--filter", "page_size=5", "--no-strict"], "page_size", "--page-size"),
        (["cdr", "--filter", "strict=0"], "strict", "--no-strict"),
        (["cdr", "--filter", "fields=qid"], "fields", "--fields"),
        (["cdr", "--filter", "range=1:2"], "range", "--since"),
        (["cdr", "--filter", "limit=5", "--no-strict"], "limit", "--page-size"),
        (["calls", "--fields", "qid", "--group-by", "qid", "--filter", "groupby=qid"],
         "groupby", "--group-by"),
        (["calls", "--fields", "qid", "--group-by", "qid", "--filter", "group_by=qid"],
         "group_by", "--group-by"),
        (["calls", "--fields", "qid", "--group-by", "qid", "--filter", "self=1"], "self", ""),
    ],
)  # fmt: skip
def test_a_filter_named_as_the_commands_own_setting_is_refused_by_its_flag(
    invoke: CliInvoker, an_hour: Served, args: list[str], name: str, flag: str
) -> None:
    # It was Python's own words: "Reports.cdr() got multiple values for keyword argument
    # 'start'", naming the library's method.
    before = len(an_hour.sim.requests)
    out = invoke(["report", *args, *WINDOW], env=an_hour.env())
    line = assert_one_error(out, 2)
    assert f"--filter {name}: not a filter" in line, line
    assert flag in line
    assert "got multiple values" not in line
    assert len(an_hour.sim.requests) == before


def test_report_cdr_csv_escapes_control_characters_on_a_terminal_only(
    invoke: CliInvoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name with a terminal escape was written as it is: on a screen, the API's text
    # sent the terminal commands (the table and --json escape it). Piped, CSV is data.
    from contactnow_async._cli import _report, _report_window
    from contactnow_async._cli._common import OutputConsole

    clock = VirtualClock(START)
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=3, seed=2, clock=clock)
    clock.advance(3600)
    with served_in_thread(sim) as served:
        args = ["report", "cdr", "--csv", "--fields", "aid,anm", *WINDOW]
        first = invoke(args, env=served.env())
        aid = next(row["aid"] for row in csv.DictReader(io.StringIO(first.stdout)) if row["aid"])
        renamed = invoke(["agents", "update", aid, "--name", "Esc\x1b[31mRED"], env=served.env())
        assert renamed.code == 0, renamed
        piped = invoke(args, env=served.env())
        terminal = OutputConsole(force_terminal=True)
        monkeypatch.setattr(_report, "console", terminal)  # the progress bar's choice
        monkeypatch.setattr(_report_window, "console", terminal)  # the CSV line's
        shown = invoke(args, env=served.env())
    assert "Esc\x1b[31mRED" in piped.stdout  # the data as it is
    assert shown.code == 0, shown
    assert "\x1b" not in shown.stdout
    assert "Esc\\x1b[31mRED" in shown.stdout


def test_report_calls_takes_page_size_for_a_filter_name_it_is(
    invoke: CliInvoker, an_hour: Served
) -> None:
    # report calls has no --page-size (one request): the refusal pointed to it all the same.
    args = ["report", "calls", "--fields", "qid", "--group-by", "qid", "--filter", "page_size=5"]
    line = assert_one_error(invoke([*args, *WINDOW], env=an_hour.env()), 2)
    assert "--page-size" not in line, line
    assert "page_size" in line  # the library's own refusal of a name no document lists


# -- contactnow report agents ----------------------------------------------------------


def test_report_agents_as_json_csv_and_a_table(invoke: CliInvoker, an_hour: Served) -> None:
    # The library read the login sessions (reports.agents); the command had no way to.
    as_json = invoke(["report", "agents", "--json", *WINDOW], env=an_hour.env())
    assert as_json.code == 0, as_json
    sessions = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert len(sessions) > 3
    # The Python names of AgentSession (docs/fields.md), moments as unix seconds.
    assert all(set(session) == ATTRIBUTES for session in sessions)
    assert all(START <= session["login_ts"] <= START + 3600 for session in sessions)
    assert an_hour.sim.requests[-1].args["isset"] == "tm_login"
    as_csv = invoke(["report", "agents", "--csv", *WINDOW], env=an_hour.env())
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert as_csv.stdout.splitlines()[0] == "aid,anm,tm_login,tm_logout,tm_first,tm_last"
    assert [(row["aid"], int(row["tm_login"])) for row in table] == [
        (session["agent_id"], session["login_ts"]) for session in sessions
    ]
    agent_id = sessions[0]["agent_id"]
    tokyo = ["--agent", agent_id, "--record-tz", "Asia/Tokyo"]
    shown = invoke(["report", "agents", *WINDOW, *tokyo], env=an_hour.env())
    assert shown.code == 0, shown
    header, _, *rows = shown.stdout.splitlines()  # the header, its rule, the sessions
    assert [name.strip() for name in header.split("┃")] == [
        "agent", "agent name", "login", "logout", "first activity", "last activity"
    ]  # fmt: skip
    assert rows and all(row.split()[0] == agent_id for row in rows), shown.stdout
    assert "T07:13:20+09:00" in rows[0]  # START, in the centre's zone
    assert an_hour.sim.requests[-1].args["agent"] == agent_id


def test_report_agents_overlapping_reads_sessions_begun_before_the_window(
    invoke: CliInvoker, an_hour: Served
) -> None:
    later = ["--since", str(START + 1800), "--until", str(START + 3600), "--json"]
    begun = invoke(["report", "agents", *later], env=an_hour.env())
    assert "isset" in an_hour.sim.requests[-1].args
    open_then = invoke(["report", "agents", *later, "--overlapping"], env=an_hour.env())
    assert (begun.code, open_then.code) == (0, 0), (begun, open_then)
    assert "isset" not in an_hour.sim.requests[-1].args
    begun_at = [json.loads(line)["login_ts"] for line in begun.stdout.splitlines()]
    open_at = [json.loads(line)["login_ts"] for line in open_then.stdout.splitlines()]
    assert begun_at and min(begun_at) >= START + 1800
    assert min(open_at) < START + 1800  # logged in before the window, still in it
    assert set(begun_at) < set(open_at)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--json", "--csv"], "pick one"),
        (["--since", "soon"], "not a time"),
        (["--since", "now", "--until", "1h"], "is before --since"),
        (["--agent", ""], "Invalid value for '--agent': it is empty"),
        (["--fields", "aid"], "No such option '--fields'"),
    ],
)
def test_report_agents_refuses_a_bad_flag_before_sending(
    invoke: CliInvoker, an_hour: Served, args: list[str], message: str
) -> None:
    before = len(an_hour.sim.requests)
    out = invoke(["report", "agents", *args], env=an_hour.env())
    assert out.code == 2, out
    assert message in out.stderr, out
    assert "Traceback" not in out.output
    assert len(an_hour.sim.requests) == before


def test_report_agents_refused_by_the_api_is_one_line(
    invoke: CliInvoker, an_hour: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # REPORTING.md does not list method=agents: an account's API may answer that it has
    # no such method. One line and exit 4, and no CSV header above it.
    from .test_commands import _commands_on

    asked: list[str] = []

    def no_such_method(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.url.path} {request.url.params.get('method')}")
        return httpx.Response(200, json={"success": False, "error": "Unknown method"})

    _commands_on(monkeypatch, no_such_method)
    out = invoke(["report", "agents", "--csv", *WINDOW], env=an_hour.env())
    assert "Unknown method" in assert_one_error(out, 4)
    assert out.stdout == ""
    assert asked == ["/reporting.php agents"]


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ((), "read before it stopped; nothing was printed"),
        (("--json",), "printed before it stopped"),
    ],
)
def test_report_cdr_failing_midway_says_how_far_it_read(
    invoke: CliInvoker,
    an_hour: Served,
    monkeypatch: pytest.MonkeyPatch,
    form: tuple[str, ...],
    said: str,
) -> None:
    # A read failing at its 3rd page was one error line: how many calls had been read (a
    # table's rows, all lost) or printed, of how many, was not said.
    from contactnow_async.resources._cdr_pages import CdrPages

    read_page, pages = CdrPages._read_page, []

    async def read_then_fail(self: CdrPages, offset: int) -> Any:
        pages.append(offset)
        if len(pages) == 3:  # this page's request and its 2 retries answer HTTP 500
            an_hour.sim.faults.inject("http_500", script="reporting", times=3)
        return await read_page(self, offset)

    monkeypatch.setattr(CdrPages, "_read_page", read_then_fail)
    out = invoke(["report", "cdr", *WINDOW, "--page-size", "5", *form], env=an_hour.env())
    assert out.code == 5, out
    assert len(out.stdout.splitlines()) == (10 if form else 0)
    assert out.error_lines[1:] == [f"report cdr: 10 of {len(_calls(invoke, an_hour))} calls {said}"]


def _calls(invoke: CliInvoker, served: Served) -> list[str]:
    out = invoke(["report", "cdr", *WINDOW, "--json"], env=served.env())
    assert out.code == 0, out
    return out.stdout.splitlines()

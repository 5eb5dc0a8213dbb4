"""A command whose table has no rows says so in one line on stderr, naming what was looked
for, and exits 0; stdout holds no table (a header alone read as a failed read), and its
``--json`` and ``--csv`` output stay valid empty documents."""

from __future__ import annotations

import json

import pytest

from .conftest import CliInvoker, Served

pytestmark = pytest.mark.integration

#: A window of 2001, long before the simulator's centre opened: nothing logged, no calls.
SINCE, UNTIL = "2001-01-01T00:00:00Z", "2001-01-01T00:30:00Z"
#: A window of whole days (records read takes a bare day as that day in its zone).
DAYS = ["--since", "2001-01-01", "--until", "2001-01-02"]
WINDOW = ["--since", SINCE, "--until", UNTIL]
SHOWN = "from 2001-01-01T00:00:00+00:00 to 2001-01-01T00:30:00+00:00"
NEW_YORK, TOKYO = ["--record-tz", "America/New_York"], ["--record-tz", "Asia/Tokyo"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["status-log", *WINDOW], f"no status changes logged {SHOWN}"),
        (
            ["status-log", "--agent", "1001", "--agent", "1002", *WINDOW],
            f"no status changes logged for agent 1001, 1002 {SHOWN}",
        ),
        (
            ["status-log", "--summary", *WINDOW],
            f"no status changes logged {SHOWN}, nor in the day before it: "
            "no time in a status to count",
        ),
        (["agents", "list", "--name", "Nobody Such"], "no agent named 'Nobody Such'"),
        (
            ["agents", "list", "--name", "A", "--username", "b"],
            "no agent named 'A' with username 'b'",
        ),
        (["priorities", "list", "--agent", "999999"], "no queue assignments of agent 999999"),
        (["priorities", "list", "--queue", "999999"], "no queue assignments to queue 999999"),
        (["datasets", "list", "--queue", "999999"], "no datasets of queue 999999"),
        (
            ["records", "read", "--dataset", "999999", "--outcome", "1"],
            "no records in dataset 999999 match --outcome",
        ),
        (
            ["records", "read", "--table", "Willtest", "--timetype", "processdate", *DAYS],
            "no records in table Willtest match --timetype, --since, --until",
        ),
        (
            ["report", "calls", "--fields", "nc_all", "--group-by", "qid", *WINDOW],
            f"no calls {SHOWN}",
        ),
        (["report", "cdr", "--filter", "queue=1007", *WINDOW], f"no calls {SHOWN} with queue=1007"),
        (["report", "agents", *WINDOW], f"no logins {SHOWN}"),
        (
            ["report", "agents", "--agent", "1001", "--overlapping", *WINDOW],
            f"no login sessions for agent 1001 open {SHOWN}",
        ),
        (
            ["campaigns", "fields", "Willtest", "--name", "NoSuchField"],
            "no field named 'NoSuchField' in table Willtest",
        ),
        # A bare day, and a time without an offset, are the centre's (--record-tz), and
        # the window is shown in its zone (a day was its midnight in UTC).
        (
            ["status-log", "--since", "2001-01-01", "--until", "2001-01-02", *NEW_YORK],
            "no status changes logged from 2001-01-01T00:00:00-05:00 to 2001-01-02T00:00:00-05:00",
        ),
        (
            ["report", "cdr", "--since", "2001-01-01", "--until", "2001-01-01T09:00", *TOKYO],
            "no calls from 2001-01-01T00:00:00+09:00 to 2001-01-01T09:00:00+09:00",
        ),
        (
            ["report", "calls", "--fields", "nc_all", "--group-by", "qid", *WINDOW, *TOKYO],
            "no calls from 2001-01-01T09:00:00+09:00 to 2001-01-01T09:30:00+09:00",
        ),
    ],
    ids=lambda value: " ".join(value[:3]) if isinstance(value, list) else None,
)
def test_an_empty_table_is_one_line_naming_what_was_looked_for(
    invoke: CliInvoker, served: Served, args: list[str], said: str
) -> None:
    # Each printed its table's header and nothing else, as if the read had failed.
    out = invoke(args, env=served.env())
    assert out.code == 0, out
    assert out.stdout == ""
    assert out.error_lines == [said]


def test_empty_json_and_csv_stay_valid_documents(invoke: CliInvoker, served: Served) -> None:
    summary = invoke(["status-log", "--summary", "--json", *WINDOW], env=served.env())
    assert (summary.code, json.loads(summary.stdout), summary.stderr) == (0, {}, "")
    rows = invoke(["status-log", "--json", *WINDOW], env=served.env())
    assert (rows.code, rows.stdout, rows.stderr) == (0, "", "")
    calls = ["report", "calls", "--fields", "nc_all", "--group-by", "qid", "--csv", *WINDOW]
    header = invoke(calls, env=served.env())
    assert (header.code, header.stdout, header.stderr) == (0, "nc_all,qid\n", "")
    sessions = invoke(["report", "agents", "--csv", *WINDOW], env=served.env())
    assert (sessions.code, sessions.stderr) == (0, "")
    assert sessions.stdout == "aid,anm,tm_login,tm_logout,tm_first,tm_last\n"
    logins = invoke(["report", "agents", "--json", *WINDOW], env=served.env())
    assert (logins.code, logins.stdout, logins.stderr) == (0, "", "")

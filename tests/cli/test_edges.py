"""Sharp edges a demanding operator hits: odd names from the API, odd times, odd input."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime

import click
import pytest

from contactnow_async.events import from_json
from contactnow_async.simulator import Simulator

from .conftest import (
    PASSWORD,
    USERNAME,
    CliInvoker,
    Outcome,
    Served,
    assert_no_secret,
    assert_one_error,
    run_subprocess,
    run_until,
    served_in_thread,
    subprocess_env,
)

pytestmark = pytest.mark.integration

#: Names an account may hold: rich markup, a terminal escape, a newline, a bidi override
#: (it turns the rest of the line around), a line separator, and what a cp1252 or
#: latin-1 stdout cannot encode.
ODD_NAMES = (
    "[/]",
    "[bold red]Boss",
    "Esc\x1b[31mRED",
    "New\nLine",
    "Bidi\u202eLIVE",
    "Line\u2028Sep",
    "Zoë ✓ 名前 😀",
)


@pytest.fixture(scope="module")
def odd() -> Iterator[Served]:
    """A simulator of its own (the session's keeps its ten agents), with ODD_NAMES."""
    sim = Simulator(username=USERNAME, password=PASSWORD, agents=2, seed=3)
    with served_in_thread(sim) as served:
        invoke = CliInvoker()
        for n, name in enumerate(ODD_NAMES):
            out = invoke(
                ["agents", "create", "--name", name, "--username", f"odd{n}", "--password-stdin"],
                env=served.env(),
                input="odd-Pw-1\n",
            )
            assert out.code == 0, out
        yield served


def test_odd_names_in_a_table(invoke: CliInvoker, odd: Served) -> None:
    out = invoke(["agents", "list"], env=odd.env(COLUMNS="200"))
    assert out.code == 0, out  # "[/]" was a MarkupError traceback
    assert "\x1b" not in out.stdout  # no terminal escape from the API reaches the terminal
    assert "\u202e" not in out.stdout and "\u2028" not in out.stdout  # was printed as is
    shown_as = ("[/]", "[bold red]Boss", "Esc\\x1b[31mRED", "New\\nLine", "Bidi\\u202eLIVE",
                "Line\\u2028Sep", "Zoë ✓ 名前 😀")  # fmt: skip
    for shown in shown_as:
        assert shown in out.stdout
    assert len(out.stdout.splitlines()) == 2 + 2 + len(ODD_NAMES)  # one line per agent


def test_odd_names_in_json_are_kept(invoke: CliInvoker, odd: Served) -> None:
    out = invoke(["agents", "list", "--json"], env=odd.env())
    assert out.code == 0, out
    names = [json.loads(line)["name"] for line in out.stdout.splitlines()]
    assert set(ODD_NAMES) <= set(names)


def test_odd_names_in_watch_lines(invoke: CliInvoker, odd: Served) -> None:
    out = invoke(["watch", "--include-offline", "--duration", "1"], env=odd.env())
    assert out.code == 0, out
    lines = out.stdout.splitlines()
    assert len(lines) == 2 + len(ODD_NAMES)  # one line per event, even for "New\nLine"
    assert "\x1b" not in out.stdout
    assert "\u202e" not in out.stdout and "\u2028" not in out.stdout
    assert any("New\\nLine [" in line for line in lines)
    assert any("Bidi\\u202eLIVE [" in line for line in lines)
    assert any("[bold red]Boss [" in line for line in lines)


def test_odd_names_in_watch_json_lines(invoke: CliInvoker, odd: Served) -> None:
    # A line separator and a bidi override were written as they are: a reader splitting
    # lines as Python's str.splitlines does cut an event in two; on a terminal the
    # override turned the rest of the line around. Every other --json escapes them.
    out = invoke(["watch", "--json", "--include-offline", "--duration", "1"], env=odd.env())
    assert out.code == 0, out
    assert "\u2028" not in out.stdout and "\u202e" not in out.stdout
    events = [from_json(line) for line in out.stdout.splitlines()]
    assert len(events) == 2 + len(ODD_NAMES)
    assert set(ODD_NAMES) <= {event.after.name for event in events if event.after is not None}


def _run_encoded(args: list[str], served: Served, encoding: str) -> Outcome:
    """Run the command with stdout in ``encoding``, and read it back in that encoding."""
    done = subprocess.run(
        [sys.executable, "-m", "contactnow_async", *args],
        env=subprocess_env(**served.env(PYTHONIOENCODING=encoding, PYTHONUTF8="0", COLUMNS="200")),
        capture_output=True,
        timeout=60,
        check=False,
    )
    out = Outcome(
        code=done.returncode,
        stdout=done.stdout.decode(encoding),
        stderr=done.stderr.decode(encoding, "replace"),
    )
    assert_no_secret(out)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_a_stdout_that_cannot_encode_a_name(odd: Served, encoding: str) -> None:
    # A latin-1 locale, or Windows (cp1252) with the output redirected to a file: no
    # traceback, the JSON stays valid and loses nothing, the rest escapes what it cannot print.
    out = _run_encoded(["agents", "list", "--json"], odd, encoding)
    assert out.code == 0, out  # was a UnicodeEncodeError traceback
    names = [json.loads(line)["name"] for line in out.stdout.splitlines()]
    assert set(ODD_NAMES) <= set(names)
    table = _run_encoded(["agents", "list"], odd, encoding)
    assert table.code == 0, table
    assert "Zoë \\u2713 \\u540d\\u524d \\ud83d\\ude00" in table.stdout
    # watch: read until the name's event is printed, then Ctrl-C (no --duration to outlast:
    # a fixed one let a loaded machine's late first poll print nothing).
    line, code, err = _watch_until(odd, encoding, "Zoë \\u2713 \\u540d\\u524d \\ud83d\\ude00 [")
    assert "Zoë" in line, err  # was "error: 'latin-1' codec can't ..." with exit 2
    assert code == 130, err  # stopped by the Ctrl-C, not by an error
    assert err == ""


def _watch_until(served: Served, encoding: str, wanted: str) -> tuple[str, int, str]:
    """``watch --include-offline`` with stdout in ``encoding``, until a line holds
    ``wanted`` (or the output ends); then SIGINT. The line ("" if none), exit code, stderr."""
    lines, out = run_until(
        ["watch", "--include-offline"],
        lambda line: wanted in line,
        env=served.env(PYTHONIOENCODING=encoding, PYTHONUTF8="0", COLUMNS="200"),
        encoding=encoding,
    )
    found = lines[-1] + "\n" if lines and wanted in lines[-1] else ""
    return found, out.code, out.stderr


# -- times -------------------------------------------------------------------------


@pytest.mark.parametrize("since", ["999999999w", "99999999999999999999d"])
def test_a_time_out_of_range(invoke: CliInvoker, served: Served, since: str) -> None:
    out = invoke(["status-log", "--since", since], env=served.env())
    line = assert_one_error(out, 2)  # was an OverflowError traceback
    assert "out of range" in line


def test_since_in_the_future(invoke: CliInvoker, served: Served) -> None:
    out = invoke(
        ["status-log", "--since", "2099-01-01T00:00:00Z", "--until", "2099-01-02"],
        env=served.env(),
    )
    line = assert_one_error(out, 2)
    assert "--since (2099-01-01T00:00:00+00:00) is in the future" in line


TOKYO = ["--record-tz", "Asia/Tokyo"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        # The times as typed, in the zone they were typed in: they were shown in UTC, the
        # user's 10:00 as 01:00, and to the microsecond.
        (
            ["status-log", "--since", "2001-01-01T10:00", "--until", "2001-01-01T09:00", *TOKYO],
            "--until (2001-01-01T09:00:00+09:00) is before --since (2001-01-01T10:00:00+09:00)",
        ),
        (
            ["report", "cdr", "--since", "2001-01-02", "--until", "2001-01-01", *TOKYO],
            "--until (2001-01-01T00:00:00+09:00) is before --since (2001-01-02T00:00:00+09:00)",
        ),
        (["status-log", "--since", "2099-01-01", *TOKYO], "--since (2099-01-01T00:00:00+09:00)"),
        # The library's own words named its arguments: "tstart (2001-01-01 00:00:00) is
        # after tstop (2000-01-01 23:59:59)".
        (
            [
                "records", "read", "--table", "Willtest", "--timetype", "processdate",
                "--since", "2001-01-01", "--until", "2000-01-01",
            ],
            "--until 2000-01-01 is before --since 2001-01-01",
        ),
        (
            [
                "records", "read", "--table", "Willtest", "--timetype", "callback",
                "--since", "2001-01-02T10:00", "--until", "2001-01-01", *TOKYO,
            ],
            "--until 2001-01-01 is before --since 2001-01-02T10:00",
        ),
        # 1 January 1970 in Tokyo began in 1969 UTC: the library refused it, in its own
        # words ("tstart must be a moment from 1970 on, not datetime.date(1970, 1, 1)").
        (
            [
                "records", "read", "--table", "Willtest", "--timetype", "callback",
                "--since", "1970-01-01", *TOKYO,
            ],
            "Invalid value for '--since': '1970-01-01' is before 1970 (unix time starts at "
            "1970-01-01T09:00:00+09:00 in Asia/Tokyo)",
        ),
    ],
    ids=["status-log", "report", "future", "records", "records-day", "records-1970"],
)  # fmt: skip
def test_a_window_refused_says_so_in_the_users_words(
    invoke: CliInvoker, served: Served, args: list[str], said: str
) -> None:
    assert said in assert_one_error(invoke(args, env=served.env()), 2)


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("+09:00", "+09:00"), ("-0530", "-05:30"), ("Asia/Tokyo", "+09:00")],
)
def test_record_tz_takes_a_named_zone_or_a_fixed_offset(
    invoke: CliInvoker, served: Served, zone: str, shown: str
) -> None:
    # "+09:00" was refused as no time zone: a centre's offset is what its staff know.
    args = ["status-log", "--since", "2099-01-01", "--record-tz", zone]
    assert f"--since (2099-01-01T00:00:00{shown})" in assert_one_error(
        invoke(args, env=served.env()), 2
    )


def test_the_record_tz_variable_stands_for_the_flag_not_given(
    invoke: CliInvoker, served: Served
) -> None:
    # Set once (CONTACTNOW_RECORD_TZ) for every command, as the credentials are; the flag wins.
    args = ["status-log", "--since", "2099-01-01"]
    env = served.env(CONTACTNOW_RECORD_TZ="Asia/Tokyo")
    assert "(2099-01-01T00:00:00+09:00)" in assert_one_error(invoke(args, env=env), 2)
    flagged = invoke([*args, "--record-tz", "+01:00"], env=env)
    assert "(2099-01-01T00:00:00+01:00)" in assert_one_error(flagged, 2)


@pytest.mark.parametrize("zone", ["Nowhere/Else", "+25:00", "09:00"])
def test_record_tz_refuses_what_is_no_zone_nor_offset(
    invoke: CliInvoker, served: Served, zone: str
) -> None:
    out = invoke(["status-log", "--record-tz", zone], env=served.env())
    assert out.code == 2, out  # click's usage error, naming the option
    assert "'--record-tz'" in out.stderr
    assert "is not a time zone (say Europe/London, or an offset: +01:00)" in out.stderr


def test_until_in_the_future_is_not_read_hour_by_hour(invoke: CliInvoker, served: Served) -> None:
    before = served.sim.stats.count("database", "status_log")
    out = invoke(
        ["status-log", "--json", "--since", "2h", "--until", "2099-01-01"], env=served.env()
    )
    assert out.code == 0, out
    assert out.stdout.strip()
    # two past hours and one read for the rest (it was some 640,000 hourly reads)
    assert served.sim.stats.count("database", "status_log") - before <= 4


def test_empty_window(invoke: CliInvoker, served: Served) -> None:
    window = ["--since", "2001-01-01T00:00:00Z", "--until", "2001-01-01T00:30:00Z"]
    assert invoke(["status-log", "--json", *window], env=served.env()).stdout == ""
    summary = invoke(["status-log", "--summary", "--json", *window], env=served.env())
    assert json.loads(summary.stdout) == {}


# -- agents update ------------------------------------------------------------------


def test_update_with_an_empty_value(invoke: CliInvoker, served: Served) -> None:
    (agent,) = [
        json.loads(line)
        for line in invoke(
            ["agents", "list", "--json", "--name", "Agent 6"], env=served.env()
        ).stdout.splitlines()
    ]
    agent_id = agent["agent_id"]
    assert invoke(["agents", "update", agent_id, "--phone", "0456"], env=served.env()).code == 0
    # --phone= clears the field; it used to take the next argument as the value.
    # The flag and the JSON key follow the model's name for the field (docs/fields.md).
    update = ["agents", "update", agent_id, "--phone=", "--user-field=x"]
    out = invoke(update, env=served.env())
    assert out.code == 0, out
    (after,) = [
        json.loads(line)
        for line in invoke(
            ["agents", "list", "--json", "--name", "Agent 6"], env=served.env()
        ).stdout.splitlines()
    ]
    assert after["phone"] == ""
    assert after["user_field"] == "x"


# -- the group's options after the command, prompts, the simulate command -------------


@pytest.mark.parametrize(
    "args",
    [
        ["--simulate", "--sim-agents", "3", "agents", "list", "--json"],
        ["agents", "list", "--simulate", "--json", "--sim-agents", "3"],
        ["agents", "--simulate", "list", "--sim-agents=3", "--json"],
        ["--sim-agents", "3", "agents", "list", "--json", "--simulate"],
    ],
    ids=["before", "after", "between", "both"],
)
def test_the_group_options_before_or_after_the_command(invoke: CliInvoker, args: list[str]) -> None:
    out = invoke(args)  # was "contactnow's own options go before the command", exit 2
    assert out.code == 0, out
    assert [json.loads(line)["name"] for line in out.stdout.splitlines()] == [
        "Agent 1",
        "Agent 2",
        "Agent 3",
    ]


def test_a_command_option_of_the_same_name_stays_the_commands(invoke: CliInvoker) -> None:
    # agents list --username filters by the agent's username; contactnow --username is
    # the API's. Given after `agents list`, it is the command's.
    args = ["agents", "list", "--json", "--simulate", "--username", "agent2"]
    out = invoke(args)
    assert out.code == 0, out
    assert [json.loads(line)["username"] for line in out.stdout.splitlines()] == ["agent2"]


def test_values_are_not_taken_for_options_or_commands(invoke: CliInvoker) -> None:
    # "--simulate" is the name looked for; "agents" is a base URL (refused beside
    # --simulate, the flag: so each was read as what it is).
    args = ["agents", "list", "--name", "--simulate", "--simulate", "--base-url", "agents"]
    out = invoke([*args, "--json"])
    assert out.code == 2, out
    assert out.stderr.startswith("contactnow: error: --base-url cannot go with --simulate")
    out = invoke(["agents", "list", "--name", "--simulate", "--simulate", "--json"])
    assert out.code == 0, out
    assert out.stdout == ""  # no agent is named "--simulate"
    token = invoke(["token", "get", "--json", "--simulate", "--format", "xml"])
    assert token.code == 0, token
    assert set(json.loads(token.stdout)) == {"token", "token_start", "token_length", "expires_at"}


@pytest.mark.parametrize(
    ("args", "message"),
    [  # a real process each: one in the README's run, all in CI
        (["agents", "update", "1", "--name", "X", "--", "--simulate"], "(--simulate)"),
        pytest.param(
            ["watch", "--json", "--format"],
            "'--format' requires an argument",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            ["agents", "list", "--sim-agents", "many", "--simulate"],
            "'--sim-agents'",
            marks=pytest.mark.slow,
        ),
    ],
    ids=["after-double-dash", "no-value", "bad-value"],
)
@pytest.mark.slow
def test_group_options_after_the_command_that_are_wrong(args: list[str], message: str) -> None:
    out = run_subprocess(args)
    line = assert_one_error(out, 2)
    assert message in line
    assert "--help" in line


@pytest.mark.parametrize(
    ("cause", "code", "message"),
    [(KeyboardInterrupt, 130, "interrupted"), (EOFError, 2, "--password-stdin")],
)
def test_the_password_prompt_interrupted_or_at_end_of_input(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cause: type[BaseException],
    code: int,
    message: str,
) -> None:
    # What click.prompt does on Ctrl-C or end of input: Abort "from None".
    def prompt(*args: object, **kwargs: object) -> str:
        try:
            raise cause
        except cause:
            raise click.Abort() from None

    from contactnow_async._cli import main

    monkeypatch.setattr(click, "prompt", prompt)
    monkeypatch.setattr(
        sys, "argv", ["contactnow", "agents", "create", "--name", "X", "--username", "x"]
    )
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == code
    err = capsys.readouterr().err
    assert err.startswith("contactnow: error: ")
    assert message in err


#: ``contactnow agents list`` whose read is stopped by Ctrl-C, stops slowly (as the relay
#: giving its lease up, a server draining), and gets Ctrl-C again while it stops.
_CTRL_C_TWICE = """
import signal, sys
import anyio
from contactnow_async.resources.agents import Agents

async def read(self, **options):
    async with anyio.create_task_group() as tasks:  # as the watcher's and relay's
        tasks.start_soon(anyio.sleep_forever)
        signal.raise_signal(signal.SIGINT)
        try:
            await anyio.sleep(3600)
        finally:
            with anyio.CancelScope(shield=True):
                signal.raise_signal(signal.SIGINT)
                await anyio.sleep(3600)

Agents.read = read
sys.argv = ["contactnow", "agents", "list"]
from contactnow_async._cli import main
main()
"""


@pytest.mark.slow
def test_ctrl_c_twice_stops_at_once() -> None:
    # The second Ctrl-C was a KeyboardInterrupt raised inside whichever task ran: out of
    # a task group, a traceback and exit 1; at times asyncio's shutdown then spun at
    # 100% CPU for ever. Nothing is sent: the patched read never asks the API.
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_TWICE],
        env=subprocess_env(
            CONTACTNOW_BASE_URL="http://127.0.0.1:1/",
            CONTACTNOW_USERNAME=USERNAME,
            CONTACTNOW_PASSWORD=PASSWORD,
        ),
        capture_output=True,
        text=True,
        timeout=60,  # a hang fails the test, not the suite
        check=False,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == ""


@pytest.mark.slow
def test_simulate_on_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = run_subprocess(["simulate", "--port", str(port)])
    line = assert_one_error(out, 5)  # was an OSError traceback
    assert f"127.0.0.1:{port}" in line


def test_the_demo_feed_lists_changes_newest_first_and_names_as_data() -> None:
    from datetime import datetime, timezone
    from io import StringIO

    from rich.console import Console

    from contactnow_async import AgentEvent, LiveAgent
    from contactnow_async._cli._demo import _agents_table, _feed

    def event(agent_id: str, name: str, began: int) -> AgentEvent:
        after = LiveAgent(agent_id=agent_id, name=name, status="wait", started_ts=began)
        return AgentEvent(
            kind="changed",
            agent_id=agent_id,
            before=None,
            after=after,
            changed_at=datetime.fromtimestamp(began, tz=timezone.utc),
            observed_at=datetime.fromtimestamp(began + 5, tz=timezone.utc),
            id=f"{agent_id}:{began}",
        )

    # One poll delivers its changes in row order, not in time order.
    feed = [event("1", "Early", 1_700_000_000), event("2", "[red]Late", 1_700_000_030)]
    out = StringIO()
    console = Console(file=out, width=100, color_system=None)
    console.print(_feed(feed))  # type: ignore[arg-type]  # any iterable of events will do
    console.print(_agents_table([e.after for e in feed if e.after], 0.0, 10))
    text = out.getvalue()
    assert text.index("[red]Late") < text.index("Early")  # newest first, brackets kept
    assert text.count("[red]Late") == 2  # the table shows the name as data too


@pytest.mark.parametrize(
    "args",
    [
        ["watch", "--interval", "nan", "--duration", "0.2"],  # was a poll without a pause
        ["watch", "--duration", "nan"],
        ["--sim-speed", "inf", "watch", "--duration", "0"],  # was an OverflowError traceback
        ["demo", "--speed", "1e9", "--duration", "0"],  # 1e9 made watch hang past --duration
        ["demo", "--speed", "nan", "--duration", "0"],
        ["demo", "--faults", "nan", "--duration", "0"],
        ["relay", "--redis", "redis://127.0.0.1:1/0", "--lease-ttl", "nan"],
    ],
)
def test_a_number_option_that_is_not_a_finite_number(invoke: CliInvoker, args: list[str]) -> None:
    own_simulator = args[0] == "demo"  # which refuses --simulate: it serves its own
    out = invoke(args if own_simulator else ["--simulate", *args])
    assert out.code == 2, out
    assert "Traceback" not in out.output
    assert "not a finite number" in out.stderr or "is not in the range" in out.stderr, out


@pytest.mark.parametrize(
    ("redirect", "args", "code", "message"),
    [
        ("<&-", ["agents", "create", "--name", "A", "--username", "a", "--password-stdin"], 2,
         "the agent password is empty"),
        # A real process each: the first in the README's run, all in CI.
        pytest.param("<&-", ["records", "create", "-", "--dataset", "1"], 2, "needs a header row",
                     marks=pytest.mark.slow),
        pytest.param(">&-", ["--version"], 0, "", marks=pytest.mark.slow),
    ],
    ids=["stdin-secret", "stdin-file", "stdout"],
)  # fmt: skip
@pytest.mark.slow
def test_a_closed_stdin_or_stdout(redirect: str, args: list[str], code: int, message: str) -> None:
    # Python makes sys.stdin (sys.stdout) None when the descriptor is closed: these were an
    # AttributeError traceback. A closed stdin reads as empty, a closed stdout as /dev/null.
    command = shlex.join([sys.executable, "-m", "contactnow_async", "--simulate", *args])
    done = subprocess.run(
        ["sh", "-c", f"exec {command} {redirect}"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == code, done
    assert "Traceback" not in done.stderr
    assert message in done.stderr


def test_a_table_piped_is_not_cut_to_a_screens_width(invoke: CliInvoker, served: Served) -> None:
    # Redirected (cron, `> file`), rich drew tables 80 columns wide and cut the values that
    # did not fit: "2026-12-03T12:06:05+0…".
    out = invoke(["status-log", "--since", "1h"], env=served.env(COLUMNS="60"))
    assert out.code == 0, out
    assert "…" not in out.stdout
    rows = [line.split("│") for line in out.stdout.splitlines()[2:]]
    assert rows and all(datetime.fromisoformat(row[1].strip()) for row in rows)

"""Bad input: one clear ``contactnow: error:`` line and the documented exit code.

Exit codes (contactnow_async/_cli/__init__.py): 2 usage, 3 authentication,
4 API error, 5 network.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import (
    PASSWORD,
    WRONG_PASSWORD,
    CliInvoker,
    Outcome,
    Served,
    assert_one_error,
    run_subprocess,
    subprocess_env,
)

pytestmark = pytest.mark.integration

UNREACHABLE = "http://127.0.0.1:1/"


def test_unknown_agent_is_an_api_error(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["agents", "update", "999999", "--name", "X"], env=served.env())
    line = assert_one_error(out, 4)
    assert "refused" in line
    assert out.stdout == ""


def test_missing_username(invoke: CliInvoker) -> None:
    out = invoke(["agents", "list"], env={"CONTACTNOW_PASSWORD": PASSWORD})
    line = assert_one_error(out, 2)
    assert "CONTACTNOW_USERNAME" in line


def test_missing_credentials(invoke: CliInvoker) -> None:
    out = invoke(["token", "get"])
    line = assert_one_error(out, 2)
    assert "CONTACTNOW_USERNAME" in line


def test_missing_password(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["agents", "list"], env=served.env(CONTACTNOW_PASSWORD=None))
    line = assert_one_error(out, 2)
    assert "CONTACTNOW_PASSWORD" in line


@pytest.mark.parametrize("flag", ["--username", "--password", "--base-url", "--token-file"])
def test_an_empty_credential_flag_is_refused_not_replaced_by_the_variable(
    invoke: CliInvoker, served: Served, flag: str
) -> None:
    """``--password ""`` is what the user typed: the variable does not stand in for it."""
    out = invoke([flag, "", "agents", "list"], env=served.env())
    line = assert_one_error(out, 2)
    assert f"{flag} is empty" in line


#: A password holding a byte that is not UTF-8 (0xff), as Python decodes it from a C
#: locale's environment or command line: a lone surrogate.
NOT_UTF8_PASSWORD = "s3\udcffcret-Pw"


@pytest.mark.parametrize(
    "args",
    [
        ["agents", "list", "--name", "Zo\udceb"],
        ["records", "read", "--dataset", "35\udcff"],
        ["priorities", "list", "--queue", "\udcff"],
        ["agents", "update", "1226374", "--name", "Zo\udceb"],  # was sent, in the payload
    ],
)
def test_a_value_that_is_not_utf8_is_one_clear_line(
    invoke: CliInvoker, served: Served, args: list[str]
) -> None:
    # A byte a latin-1 terminal typed (Zo\xeb), as Python decodes it from a UTF-8 locale's
    # command line: was "'utf-8' codec can't encode character '\\udceb' in position 2:
    # surrogates not allowed".
    before = len(served.sim.requests)
    line = assert_one_error(invoke(args, env=served.env()), 2)
    assert "is not UTF-8 text" in line and "codec" not in line, line
    assert len(served.sim.requests) == before  # refused before anything was sent


@pytest.mark.parametrize(
    ("args", "env", "what"),
    [
        (["agents", "list"], {"CONTACTNOW_PASSWORD": NOT_UTF8_PASSWORD}, "password"),
        (["--password", NOT_UTF8_PASSWORD, "agents", "list"], {}, "password"),
        (["agents", "list"], {"CONTACTNOW_USERNAME": "op\udcffs"}, "username"),
    ],
)
def test_a_credential_that_is_not_utf8_is_refused_without_quoting_it(
    invoke: CliInvoker, served: Served, args: list[str], env: dict[str, str], what: str
) -> None:
    # Was "'utf-8' codec can't encode character '\\udcff' in position 2": a byte of the
    # password, and where it stands in it.
    before = len(served.sim.requests)
    line = assert_one_error(invoke(args, env=served.env(**env)), 2)
    assert line.endswith(
        f"the API {what} is not UTF-8 text (CONTACTNOW_{what.upper()} or --{what})"
    )
    assert "udcff" not in line
    assert len(served.sim.requests) == before  # refused before anything was sent


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["serve", "--host", ""], "--host"),
        (["simulate", "--host", ""], "--host"),
        # Served an account no client logs in to (ContactNow refuses empty credentials).
        (["simulate", "--username", ""], "--username"),
        (["simulate", "--password", ""], "--password"),
        (["serve", "--redis", "redis://127.0.0.1:1/0", "--stream", ""], "--stream"),
        (["relay", "--redis", "redis://127.0.0.1:1/0", "--stream", ""], "--stream"),
        (["relay", "--redis", "redis://127.0.0.1:1/0", "--owner", ""], "--owner"),
        (["agents", "create", "--name", "", "--username", "u", "--password-stdin"], "--name"),
        (["agents", "create", "--name", "N", "--username", "", "--password-stdin"], "--username"),
        # A filter given empty read everything, as if it were not given.
        (["datasets", "list", "--table", ""], "--table"),
        (["priorities", "list", "--agent", ""], "--agent"),
        (["agents", "list", "--name", ""], "--name"),
        (["agents", "list", "--username", ""], "--username"),
        (["priorities", "list", "--queue", ""], "--queue"),
        (["records", "read", "--table", "", "--dataset", "352"], "--table"),
        (["records", "read", "--dataset", "352", "--agent", ""], "--agent"),
        (["records", "read", "--dataset", "352", "--ddi", ""], "--ddi"),
        (
            ["records", "read", "--dataset", "352", "--timetype", "callback", "--since", ""],
            "--since",
        ),
        (["records", "create", "-", "--dataset", ""], "--dataset"),
        # Watched no agent, printing nothing, for ever (the others refuse an empty id).
        (["watch", "--agent", ""], "--agent"),
        (["watch", "--agent", "1226374", "--agent", ""], "--agent"),
        (["datasets", "set-status", "", "LIVE"], "DATASET"),
        # Said "every record needs an agentid, got one with {agentid, name}".
        (["agents", "update", "", "--name", "N"], "AGENT_ID"),
        (["priorities", "set", "1226374", "", "5"], "QUEUE"),
    ],
)
def test_an_empty_value_is_refused(
    invoke: CliInvoker,
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    flag: str,
) -> None:
    # An empty --host (an unset shell variable) served on every interface; an empty
    # --stream wrote the keys "", ":lease", ... (serve read the default stream instead);
    # an empty agent username was created. Nothing may be served or sent.
    from contactnow_async import simulator
    from contactnow_async._cli import _common, _serve

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("served or sent")

    monkeypatch.setattr(simulator, "run", refuse)
    monkeypatch.setattr(_serve, "_bind", refuse)
    monkeypatch.setattr(_common, "ContactNow", refuse)
    out = invoke(args, env=served.env(), input="agent-Pw-1\n")
    assert out.code == 2, out
    assert "Traceback" not in out.output
    assert f"Invalid value for '{flag}': it is empty" in out.stderr, out


def test_wrong_password(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["agents", "list"], env=served.env(CONTACTNOW_PASSWORD=WRONG_PASSWORD))
    line = assert_one_error(out, 3)
    assert "'ops'" in line  # names the username, never the password


def test_wrong_password_given_as_a_flag(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["--password", WRONG_PASSWORD, "token", "validate"], env=served.env())
    assert_one_error(out, 3)


def test_malformed_time(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["status-log", "--since", "yesterdayish"], env=served.env())
    line = assert_one_error(out, 2)
    assert "'yesterdayish' is not a time" in line


def test_a_short_unix_time_is_refused_saying_how_many_digits_one_has(
    invoke: CliInvoker, served: Served
) -> None:
    # "'0' is not a time: use unix seconds": but 0 is unix seconds. Only 9 to 11 digits
    # are (20261204 is a day, 2026 no time at all), and the line did not say so.
    out = invoke(["status-log", "--since", "0"], env=served.env())
    line = assert_one_error(out, 2)
    assert "'0' is not a time: use unix seconds (9 to 11 digits)" in line


def test_malformed_until(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["status-log", "--until", "2026-13-45"], env=served.env())
    assert_one_error(out, 2)


@pytest.mark.parametrize(
    ("args", "flag", "message"),
    [
        (["status-log", "--since", "yesterdayish"], "--since", "is not a time"),
        (["status-log", "--until", "2026-13-45"], "--until", "is not a time"),
        (["status-log", "--since", "99999999999w"], "--since", "is out of range"),
        (["status-log", "--since", "1969-12-31T00:00:00Z", "--until", "1969-12-31T01:00:00Z"],
         "--since", "is before 1970"),
        (["report", "cdr", "--until", "nan"], "--until", "is not a time"),
        (["report", "calls", "--fields", "nc_all", "--group-by", "qid", "--since", "0001-01-01"],
         "--since", "is before 1970"),
        (["records", "read", "--dataset", "352", "--timetype", "callback", "--since", "soon"],
         "--since", "is not a time"),
        (["records", "read", "--dataset", "352", "--timetype", "callback", "--until",
          "1960-01-01"], "--until", "is before 1970"),
    ],
)  # fmt: skip
def test_a_bad_time_is_one_line_naming_its_option(
    invoke: CliInvoker, served: Served, args: list[str], flag: str, message: str
) -> None:
    # The line named no option ("'nan' is not a time"), or the library's argument with a
    # repr ("tstart datetime.datetime(1969, ...) is before 1970").
    line = assert_one_error(invoke(args, env=served.env()), 2)
    assert f"Invalid value for '{flag}': " in line
    assert message in line
    assert "datetime.datetime" not in line


def test_unreachable_host(invoke: CliInvoker) -> None:
    out = invoke(
        ["agents", "list"],
        env={
            "CONTACTNOW_USERNAME": "ops",
            "CONTACTNOW_PASSWORD": PASSWORD,
            "CONTACTNOW_BASE_URL": UNREACHABLE,
        },
    )
    line = assert_one_error(out, 5)
    assert "127.0.0.1:1" in line


def test_a_password_in_the_base_url_is_not_printed(invoke: CliInvoker) -> None:
    # A gateway's credentials in the URL (httpx sends them as Basic auth) were printed
    # whole in the error: "could not connect to http://gw:<password>@127.0.0.1:1/...".
    out = invoke(
        ["agents", "list"],
        env={
            "CONTACTNOW_USERNAME": "ops",
            "CONTACTNOW_PASSWORD": "api-pass",
            "CONTACTNOW_BASE_URL": f"http://gw:{PASSWORD}@127.0.0.1:1/",
        },
    )  # the invoker fails the test if PASSWORD is printed
    line = assert_one_error(out, 5)
    assert "gw:<redacted>@127.0.0.1:1" in line


def test_unknown_field(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["agents", "update", "1", "--colour", "red"], env=served.env())
    line = assert_one_error(out, 2)
    assert "--colour" in line
    assert "name" in line


def test_field_without_a_value(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["agents", "update", "1", "--name"], env=served.env())
    assert "--name needs a value" in assert_one_error(out, 2)


def test_nothing_to_update(invoke: CliInvoker, served: Served) -> None:
    out = invoke(["agents", "update", "1"], env=served.env())
    assert_one_error(out, 2)


def test_unknown_region(invoke: CliInvoker, served: Served) -> None:
    out = invoke(
        ["agents", "list"],
        env=served.env(CONTACTNOW_BASE_URL=None, CONTACTNOW_REGION="mars"),
    )
    line = assert_one_error(out, 2)
    assert "CONTACTNOW_REGION" in line


def test_the_region_flag_takes_any_case_as_its_variable_does(
    invoke: CliInvoker, served: Served
) -> None:
    # CONTACTNOW_REGION=US was read, --region US refused ("'US' is not one of 'eu', 'us'").
    out = invoke(["--region", "US", "--base-url", served.base_url, "agents", "list"],
                 env=served.env())  # fmt: skip
    assert out.code == 0, out


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--token-file", "tokens.json"], "--token-file"),  # kept nothing, said nothing
        (["--base-url", "http://127.0.0.1:9/"], "--base-url"),
        (["--region", "us", "--username", "me"], "--username, --region"),
    ],
)
def test_account_flags_with_simulate_are_refused(
    invoke: CliInvoker, flags: list[str], named: str
) -> None:
    out = invoke([*flags, "--simulate", "token", "get"])
    line = assert_one_error(out, 2)
    assert f"{named} cannot go with --simulate" in line


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--sim-agents", "3"], "--sim-agents"),
        (["--sim-speed", "50"], "--sim-speed"),
        (["--sim-agents", "25", "--sim-speed", "10"], "--sim-agents, --sim-speed"),  # defaults
    ],
)
def test_simulator_flags_without_simulate_are_refused(
    invoke: CliInvoker, served: Served, flags: list[str], named: str
) -> None:
    # They were ignored without a word: the command talked to the account of the
    # environment, where the user meant a simulated centre.
    before = len(served.sim.requests)
    out = invoke(["agents", "list", *flags], env=served.env())
    line = assert_one_error(out, 2)
    assert f"{named} only with --simulate" in line, line
    assert len(served.sim.requests) == before


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--simulate", "--sim-agents", "3"], "--simulate, --sim-agents"),
        (["--sim-speed", "50"], "--sim-speed"),
        (["--username", "me", "--base-url", "http://127.0.0.1:9/"], "--username, --base-url"),
        (["--format", "xml"], "--format"),
    ],
)
@pytest.mark.parametrize("command", ["demo", "simulate"])
def test_the_groups_options_are_refused_by_the_commands_that_run_their_own_simulator(
    invoke: CliInvoker,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    flags: list[str],
    named: str,
) -> None:
    # demo and simulate serve a simulator of their own: `demo --simulate --sim-agents 3`
    # showed 25 agents, `--username me simulate` served the "demo" account, without a word.
    import contactnow_async.simulator

    served_with: list[object] = []
    monkeypatch.setattr(contactnow_async.simulator, "run", lambda *a, **k: served_with.append(a))
    args = [command, "--duration", "0"] if command == "demo" else [command, "--port", "0"]
    out = invoke([*flags, *args])  # before it: `simulate --username` is simulate's own
    line = assert_one_error(out, 2)
    assert f"{named} not used by {command}" in line, line
    assert "--agents" in line  # what sets its centre instead
    assert served_with == []


# The console script's own door: click's usage errors are one line too.


# A real process each: one in the README's run, every one in CI.
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--region", "mars", "agents", "list"], marks=pytest.mark.slow),
        ["agents", "lst"],
        pytest.param(["priorities", "set", "1", "1007", "high"], marks=pytest.mark.slow),
        pytest.param(["agents", "create", "--name", "X"], marks=pytest.mark.slow),
        pytest.param(["--no-such-flag", "agents", "list"], marks=pytest.mark.slow),
    ],
    ids=["bad-choice", "no-such-command", "bad-level", "missing-option", "no-such-flag"],
)
def test_usage_errors_are_one_line(args: list[str], served: Served) -> None:
    out = run_subprocess(args, env=served.env())
    line = assert_one_error(out, 2)
    assert "--help" in line
    assert out.stdout == ""


@pytest.mark.parametrize("level", ["-1", "-250"])
def test_a_negative_level_is_refused_by_its_range(invoke: CliInvoker, level: str) -> None:
    """Not taken for an option: 'No such option: -1' said nothing of the range."""
    out = invoke(["--simulate", "priorities", "set", "1001", "2002", level])
    assert out.code == 2, out
    assert f"'LEVEL': {level} is not in the range 0<=x<=1000000" in out.stderr, out
    assert "No such option" not in out.stderr


def test_an_unknown_option_beside_a_negative_level_is_still_unknown(invoke: CliInvoker) -> None:
    out = invoke(["--simulate", "priorities", "set", "--bogus", "1001", "2002", "-1"])
    assert out.code == 2, out
    assert "No such option '--bogus'" in out.stderr, out


# --debug: the traceback and the debug log, still without the password.


@pytest.mark.slow
def test_debug_shows_the_traceback_without_the_password(served: Served) -> None:
    out = run_subprocess(
        ["--debug", "agents", "list"], env=served.env(CONTACTNOW_PASSWORD=WRONG_PASSWORD)
    )
    assert out.code == 3
    assert "Traceback" in out.stderr
    assert "AuthenticationError" in out.stderr
    assert "DEBUG" in out.stderr  # the debug log is on
    assert out.stderr.splitlines()[-1].startswith("contactnow: error: ")
    # run_subprocess checked the output for both passwords


@pytest.mark.parametrize(
    "args",
    [  # a real process each (half a second of CPU): two in the README's run, all in CI
        ["--debug", "token", "get"],
        pytest.param(["--debug", "token", "validate"], marks=pytest.mark.slow),
        ["--debug", "agents", "list", "--name", "Agent 1"],
        pytest.param(
            ["--debug", "agents", "update", "999999", "--name", "X"], marks=pytest.mark.slow
        ),
        pytest.param(
            ["--debug", "--format", "xml", "status-log", "--since", "5m"], marks=pytest.mark.slow
        ),
        pytest.param(
            ["--debug", "--password", PASSWORD, "priorities", "list"], marks=pytest.mark.slow
        ),
    ],
    ids=["token-get", "token-validate", "agents-list", "update-unknown", "xml-log", "flag"],
)
@pytest.mark.slow
def test_debug_runs_never_print_the_password(args: list[str], served: Served) -> None:
    out = run_subprocess(args, env=served.env())
    assert out.code in (0, 4), out
    assert "DEBUG" in out.stderr


@pytest.mark.slow
def test_debug_unreachable_host(served: Served) -> None:
    out = run_subprocess(
        ["--debug", "token", "get"], env=served.env(CONTACTNOW_BASE_URL=UNREACHABLE)
    )
    assert out.code == 5
    assert "Traceback" in out.stderr


# -- careless input the hostile-input review found (each was a traceback or a hang) -----


@pytest.mark.parametrize("since", ["1970-01-01T00:00:00Z", "1971-01-01T00:00:00Z", "400d"])
def test_a_status_log_window_past_31_days_needs_yes(
    invoke: CliInvoker, served: Served, since: str
) -> None:
    before = served.sim.stats.requests
    out = invoke(["status-log", "--since", since], env=served.env())
    line = assert_one_error(out, 2)
    assert "--yes" in line and "hourly requests" in line
    assert served.sim.stats.requests == before  # refused before a single request


def test_a_long_status_log_window_is_refused_naming_its_length(
    invoke: CliInvoker, served: Served
) -> None:
    # "--since 2020-01-01 is 60 days back": 60 days was the window's length (it ends at
    # --until), not how far back --since is (years).
    args = ["status-log", "--since", "2020-01-01T00:00:00Z", "--until", "2020-03-01T00:00:00Z"]
    line = assert_one_error(invoke(args, env=served.env()), 2)
    assert "the window is 60 days long: that is 1,440 hourly requests" in line
    # --summary reads the day before --since too: 24 requests more, which it left out.
    line = assert_one_error(invoke([*args, "--summary"], env=served.env()), 2)
    assert "the window is 60 days long: that is 1,464 hourly requests" in line


@pytest.mark.slow
def test_a_status_log_window_past_31_days_is_read_with_yes(
    invoke: CliInvoker, served: Served
) -> None:
    out = invoke(["status-log", "--since", "33d", "--yes", "--json"], env=served.env())
    assert out.code == 0, out
    assert out.stdout.strip()  # the simulator's history is read, hour by hour


def test_an_unwritable_token_file_is_refused_before_a_token_is_fetched(
    invoke: CliInvoker, served: Served
) -> None:
    gets = served.sim.stats.token_gets
    out = invoke(["--token-file", "/proc/nope/tok", "token", "get"], env=served.env())
    line = assert_one_error(out, 2)
    assert "/proc/nope/tok" in line and "cannot write" in line
    assert served.sim.stats.token_gets == gets


@pytest.mark.parametrize(
    "base_url",
    [
        "http://[::1",
        "http://\N{SNOWMAN}.invalid/",
        "http://127.0.0.1:99999/",
        # The fragment swallowed every script's name: token.php went to "/" (exit 4).
        "http://127.0.0.1:1/#api",
    ],
)
def test_a_malformed_base_url_is_one_line(
    invoke: CliInvoker, served: Served, base_url: str
) -> None:
    out = invoke(["agents", "list"], env=served.env(CONTACTNOW_BASE_URL=base_url))
    line = assert_one_error(out, 2)
    assert "base_url" in line


def test_an_empty_base_url_variable_is_named(invoke: CliInvoker, served: Served) -> None:
    # Said "base_url must be an http(s) URL, not ''": no flag of that name was given, and
    # the variable was not named (an unset CONTACTNOW_BASE_URL=${URL} in a compose file).
    out = invoke(["agents", "list"], env=served.env(CONTACTNOW_BASE_URL=""))
    line = assert_one_error(out, 2)
    assert "CONTACTNOW_BASE_URL is set but empty" in line, line


def test_a_token_file_that_is_not_a_regular_file_is_refused(
    invoke: CliInvoker, served: Served, tmp_path: Path
) -> None:
    # A FIFO: reading the token hung until a writer came; a device such as /dev/null was
    # replaced by a regular file holding the token where the directory was writable (root).
    fifo = tmp_path / "token.fifo"
    os.mkfifo(fifo)
    out = invoke(["--token-file", str(fifo), "token", "get"], env=served.env())
    line = assert_one_error(out, 2)
    assert str(fifo) in line and "not a regular file" in line
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def _into_a_full_disk(args: list[str], env: dict[str, str | None]) -> Outcome:
    """Run ``python -m contactnow_async ARGS`` with its output going to ``/dev/full``."""
    with FULL.open("wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "contactnow_async", *args],
            env=subprocess_env(**env),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    return Outcome(code=done.returncode, stdout="", stderr=done.stderr)


FULL = Path("/dev/full")  # every write fails with ENOSPC (Linux)


@pytest.mark.skipif(not FULL.exists(), reason="/dev/full is Linux's")
@pytest.mark.parametrize(
    "args",
    [  # a real process each: the table in the README's run, all in CI
        pytest.param(["--version"], marks=pytest.mark.slow),
        pytest.param(["--help"], marks=pytest.mark.slow),
        ["agents", "list"],
        pytest.param(["agents", "list", "--json"], marks=pytest.mark.slow),
    ],
    ids=["version", "help", "table", "json"],
)
@pytest.mark.slow
def test_output_to_a_full_disk_is_one_line_not_a_bug(served: Served, args: list[str]) -> None:
    # ``contactnow agents list > agents.txt`` on a full disk: "unexpected error (OSError):
    # a bug: run with --debug and report it", and a traceback for --help and --version.
    out = _into_a_full_disk(args, served.env())
    line = assert_one_error(out, 1)
    assert line == "contactnow: error: cannot write the output: No space left on device"
    assert "Exception ignored" not in out.stderr


# What needs the 'sim' extra (uvicorn): the [cli] extra alone installs the command.


@pytest.mark.parametrize(
    "args",
    [
        ["--simulate", "agents", "list"],
        ["watch", "--simulate", "--duration", "0"],
        ["demo", "--duration", "0"],
        ["simulate", "--port", "0"],
    ],
    ids=["--simulate", "watch --simulate", "demo", "simulate"],
)
def test_a_command_serving_the_simulator_without_uvicorn_says_which_extra(
    invoke: CliInvoker, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    """Without the 'sim' extra these were a traceback and exit 1 ("a bug: report it")."""
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn: ImportError
    out = invoke(args)
    line = assert_one_error(out, 2)
    assert "pip install 'contactnow-async[sim]'" in line
    assert out.stdout == ""


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_an_unexpected_error_is_one_line_and_exit_1(
    invoke: CliInvoker, served: Served, monkeypatch: pytest.MonkeyPatch, debug: list[str]
) -> None:
    # A bug (here, a read that raises what the library never does): the README's exit 1,
    # "a bug: run with --debug and report it". It was Python's traceback, without --debug.
    from contactnow_async.resources.agents import Agents

    async def read(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the read broke")

    monkeypatch.setattr(Agents, "read", read)
    out = invoke([*debug, "agents", "list"], env=served.env())
    assert out.code == 1, out
    assert out.stderr.splitlines()[-1] == (
        "contactnow: error: unexpected error (RuntimeError): a bug: run with --debug and report it"
    )
    assert ("the read broke" in out.stderr) == bool(debug)  # its text may hold anything
    assert ("Traceback" in out.stderr) == bool(debug)
    if not debug:
        assert_one_error(out, 1)

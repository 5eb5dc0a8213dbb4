"""A password given as a flag (``--password``) is hidden from ``ps`` while the command
runs: its characters in the process's command line become ``x`` (as mysql does); and
the command's settings leave it out of their repr."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PASSWORD, USERNAME, Served, subprocess_env

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/PID/cmdline"),
]


def _shown_while_running(
    args: list[str], env: dict[str, str], ready: bytes, *, on_stderr: bool = False
) -> list[bytes]:
    """The command line ``ps`` shows of ``contactnow ARGS`` once its first line of output
    (on stdout, or stderr) holds ``ready``; then it is stopped (Ctrl-C, exit 130)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "contactnow_async", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        stream = proc.stderr if on_stderr else proc.stdout
        assert stream is not None
        line = stream.readline()
        assert line and ready in line, line  # it runs (past its checks of the arguments)
        shown = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # pragma: no cover -- only when the test already failed
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    return shown


# A real process each: one form in the README's run, every one in CI.
@pytest.mark.parametrize(
    "form",
    [["--password", PASSWORD], pytest.param([f"--password={PASSWORD}"], marks=pytest.mark.slow)],
)
def test_a_password_flag_is_hidden_from_ps(served: Served, form: list[str]) -> None:
    # `ps` showed it to every user of the machine for as long as the command ran.
    args = ["--username", USERNAME, *form, "--base-url", served.base_url, "watch", "--json",
            "--include-offline"]  # fmt: skip
    shown = _shown_while_running(args, subprocess_env(), b"")  # the first event
    assert PASSWORD.encode() not in b" ".join(shown)
    hidden = "x" * len(PASSWORD)
    assert (hidden.encode() in shown) or (f"--password={hidden}".encode() in shown), shown
    assert b"--username" in shown  # the rest of the command line is as it was


HIDDEN = "x" * len(PASSWORD)


def test_a_gateways_password_in_the_base_url_flag_is_hidden_from_ps(served: Served) -> None:
    # `--base-url https://gw:PASSWORD@host/` (a gateway's Basic auth, which the client
    # hides from every message and log) showed it in ps for as long as the command ran.
    gateway = served.base_url.replace("://", f"://gw:{PASSWORD}@", 1)
    env = subprocess_env(**served.env(CONTACTNOW_BASE_URL=None))
    shown = _shown_while_running(
        ["--base-url", gateway, "watch", "--json", "--include-offline"], env, b""
    )
    assert PASSWORD.encode() not in b" ".join(shown)
    assert gateway.replace(PASSWORD, HIDDEN).encode() in shown, shown


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        (f"redis://relay:{PASSWORD}@127.0.0.1:1/0", f"redis://relay:{HIDDEN}@127.0.0.1:1/0"),
        # redis-py takes a password in the query too (a unix socket's only way to give one).
        pytest.param(
            f"rediss://127.0.0.1:1/0?db=0&password={PASSWORD}&ssl_password={PASSWORD}",
            f"rediss://127.0.0.1:1/0?db=0&password={HIDDEN}&ssl_password={HIDDEN}",
            marks=pytest.mark.slow,
        ),
    ],
)
@pytest.mark.slow
def test_the_password_in_a_redis_url_is_hidden_from_ps(
    served: Served, url: str, hidden: str
) -> None:
    # `relay --redis redis://user:PASSWORD@host/0` showed it in ps for as long as the
    # relay ran (for ever: it waits out a Redis it cannot reach, as here).
    env = subprocess_env(**served.env())
    shown = _shown_while_running(["relay", "--redis", url], env, b"retrying", on_stderr=True)
    assert hidden.encode() in shown, shown


@pytest.mark.slow
def test_the_simulators_password_is_hidden_from_ps_and_nothing_else() -> None:
    # A value equal to the password given to another option is that option's: left as is.
    # A password given twice: the command reads the last, ps showed the first.
    args = ["simulate", "--port", "0", "--username", PASSWORD, "--password", "first-secret",
            "--password", PASSWORD]  # fmt: skip
    shown = _shown_while_running(args, subprocess_env(), b"simulator at")
    hidden = ("x" * len(PASSWORD)).encode()
    assert shown[-7:-1] == [b"--username", PASSWORD.encode(), b"--password", b"x" * 12,
                            b"--password", hidden], shown  # fmt: skip


def _masked(value: bytes) -> bytes:
    return b"x" * len(value)


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (["c", "--password", "a", "--password=bb"], ["c", "--password", "x", "--password=xx"]),
        (["c", "--password=", "w"], ["c", "--password=", "w"]),  # an empty one: nothing to hide
        (["c", "--password", "--password", "v"],
         ["c", "--password", "xxxxxxxxxx", "v"]),  # the option's value, whatever it is
        (["c", "--", "--password", "pw"], ["c", "--", "--password", "pw"]),  # an argument
        (["c", "--passwords", "pw", "--password-file", "f"],
         ["c", "--passwords", "pw", "--password-file", "f"]),  # other options
    ],
)  # fmt: skip
def test_every_value_of_the_option_is_hidden_and_nothing_else(
    given: list[str], shown: list[str]
) -> None:
    from contactnow_async._cli._process_title import hidden_arguments

    got = hidden_arguments([a.encode() for a in given], "--password", _masked)
    assert got == [a.encode() for a in shown]


def test_a_hidden_value_of_another_length_is_left_as_it_was() -> None:
    from contactnow_async._cli._process_title import hidden_arguments

    given = [b"c", b"--redis", b"redis://u:pw@h/0"]
    assert hidden_arguments(given, "--redis", lambda value: value + b"!") == given


def test_the_settings_repr_leaves_the_password_out() -> None:
    # A debugger, a log of the context or a traceback with locals showed it.
    from contactnow_async._cli._common import Settings

    assert PASSWORD not in repr(Settings(username=USERNAME, password=PASSWORD))
    assert USERNAME in repr(Settings(username=USERNAME, password=PASSWORD))


def test_each_redis_url_given_has_its_passwords_hidden() -> None:
    from contactnow_async._cli._process_title import _without_passwords, hidden_arguments

    given = [b"c", b"--redis", b"redis://u:one@h/0", b"--redis=redis://h/0?password=two"]
    shown = [b"c", b"--redis", b"redis://u:xxx@h/0", b"--redis=redis://h/0?password=xxx"]
    assert hidden_arguments(given, "--redis", _without_passwords) == shown
